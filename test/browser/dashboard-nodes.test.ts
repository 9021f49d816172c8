import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisStore } from '../../src/server/index.js';
import { hasChromium, launch } from '../helpers/browser.js';
import {
  DASHBOARD_TOKEN,
  dashboardServerOptions,
  fromIp,
  openDashboard,
  textOf,
} from '../helpers/dashboard.js';
import { connectAuthed, upgradeStatus } from '../helpers/peer.js';
import { hasRedis, type RedisServer, startRedis } from '../helpers/redis.js';
import { signToken, startServer, type TestServer } from '../helpers/server.js';

// Two real servers with the dashboard on, sharing one real redis-server; Chromium on node A's page.
// Its own file (its own process): run after the single-node suite in one process it timed out.
let browser: Browser;
const TOKEN = DASHBOARD_TOKEN;
const options = dashboardServerOptions;
const text = textOf;
const from = fromIp;

describe.skipIf(!hasChromium || !hasRedis)(
  'dashboard on two nodes sharing one Redis',
  { timeout: 90_000 },
  () => {
    let redis: RedisServer;
    const nodes: TestServer[] = [];
    const stores: ReturnType<typeof redisStore>[] = [];
    beforeAll(async () => {
      redis = await startRedis();
      browser = await launch();
      for (let i = 0; i < 2; i++) {
        const store = redisStore({ url: redis.url });
        stores.push(store);
        nodes.push(await startServer({ ...options, store, dashboard: { token: TOKEN } }));
      }
    }, 60_000);
    afterAll(async () => {
      for (const n of nodes) await n.close();
      for (const s of stores) await s.close();
      await redis?.stop();
      await browser?.close();
    });

    it('shows both nodes, and a ban from the page holds on both', async () => {
      const [a, b] = nodes as [TestServer, TestServer];
      const onB = await connectAuthed(b.url, await signToken('on-b'));
      const page = await openDashboard(browser, a.port);
      await expect.poll(() => page.locator('#nodes tbody tr').count(), { timeout: 10_000 }).toBe(2);
      await expect.poll(() => text(page, '#sockets-open'), { timeout: 10_000 }).toBe('1');
      const victimOnB = await connectAuthed(b.url, await signToken('victim'), from('10.7.7.7'));
      await page.locator('#act select').selectOption('ban');
      await page.locator('#act input').fill('10.7.7.7');
      await page.getByRole('button', { name: 'Do it' }).click();
      await expect
        .poll(() => page.locator('#act-result').textContent(), { timeout: 5000 })
        .toBe('ban 10.7.7.7: done');
      // The socket node B already holds for that address is closed too (bounded: a missed ban
      // fails here rather than at the suite's timeout).
      const closed = await Promise.race([
        victimOnB.peer.closed,
        new Promise<string>((r) => setTimeout(() => r('still open'), 15_000).unref()),
      ]);
      expect(closed).toEqual({ code: 4403, reason: 'WSG_BANNED' });
      const jwt = await signToken('victim');
      for (const n of nodes) {
        const res = await upgradeStatus(n.url, {
          authorization: `Bearer ${jwt}`,
          'x-forwarded-for': '10.7.7.7',
        });
        expect(res.status).toBe(403);
      }
      onB.peer.close();
      await page.close();
    });
  },
);
