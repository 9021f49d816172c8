import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasChromium, launch, outputDir } from '../helpers/browser.js';
import {
  DASHBOARD_TOKEN,
  dashboardServerOptions,
  fromIp,
  openDashboard,
  textOf,
} from '../helpers/dashboard.js';
import { connectAuthed, type Peer, upgradeStatus } from '../helpers/peer.js';
import { repoRoot } from '../helpers/project.js';
import { signToken, startServer, type TestServer } from '../helpers/server.js';

// A real server with the dashboard on, Chromium on its page, real sockets from this process.
let browser: Browser;
const TOKEN = DASHBOARD_TOKEN;
const options = dashboardServerOptions;
const text = textOf;
const from = fromIp;

describe.skipIf(!hasChromium)('dashboard in Chromium', { timeout: 90_000 }, () => {
  let server: TestServer;
  beforeAll(async () => {
    browser = await launch();
    server = await startServer({ ...options, dashboard: { token: TOKEN } });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('shows the right connection count while 20 sockets open and close', async () => {
    const page = await openDashboard(browser, server.port);
    await expect.poll(() => text(page, '#sockets-open'), { timeout: 10_000 }).toBe('0');
    const peers: Peer[] = [];
    for (let i = 0; i < 20; i++)
      peers.push((await connectAuthed(server.url, await signToken(`user-${i}`))).peer);
    await expect.poll(() => text(page, '#sockets-open'), { timeout: 10_000 }).toBe('20');
    await expect.poll(() => text(page, '#sockets-auth'), { timeout: 10_000 }).toBe('20');
    for (const p of peers.splice(0, 10)) p.close();
    await expect.poll(() => text(page, '#sockets-open'), { timeout: 10_000 }).toBe('10');
    for (const p of peers) p.close();
    await expect.poll(() => text(page, '#sockets-open'), { timeout: 10_000 }).toBe('0');
    await page.close();
  });

  it('a flood shows in the refusals chart and the offenders; "ban" refuses the next upgrade (403) and shows in the stream', async () => {
    const page = await openDashboard(browser, server.port);
    const { peer, csrf } = await connectAuthed(server.url, await signToken('flooder'), from('10.6.6.6'));
    const started = Date.now();
    for (let i = 0; i < 300; i++) peer.send({ type: 'echo', id: `m${i}`, payload: i, csrf });
    await page.locator('#refusal-codes li[data-code="WSG_RATE_LIMITED"]').waitFor({ timeout: 5000 });
    // The chart drew a series for it (uPlot's canvas plus its series list).
    expect(await page.locator('#chart canvas').count()).toBeGreaterThan(0);
    const row = page.locator('#offenders tr[data-kind="ip"][data-id="10.6.6.6"]');
    await row.waitFor({ timeout: 5000 });
    // Reported, not asserted (no timing asserts on a shared 2-core machine); the issue asks for 2 s.
    console.info(`dashboard: flood to offender row in ${Date.now() - started} ms`);
    expect(Number(await row.locator('td').nth(3).textContent())).toBeGreaterThan(0);
    await page.locator('#offenders tr[data-kind="user"][data-id="flooder"]').waitFor({ timeout: 5000 });

    await row.getByRole('button', { name: 'ban', exact: true }).click();
    await expect
      .poll(() => page.locator('#act-result').textContent(), { timeout: 5000 })
      .toBe('ban 10.6.6.6: done');
    const next = await upgradeStatus(server.url, {
      authorization: `Bearer ${await signToken('flooder')}`,
      'x-forwarded-for': '10.6.6.6',
    });
    expect(next.status).toBe(403);
    expect(next.body).toBe('{"error":"WSG_BANNED"}');
    await expect
      .poll(() => page.locator('#events tr[data-event="admin.action"]').first().textContent(), {
        timeout: 5000,
      })
      .toContain('ban by admin');
    await page
      .locator('#events tr[data-event="penalty.blocked"][data-code="WSG_BANNED"]')
      .first()
      .waitFor({ timeout: 5000 });
    // The filter narrows the stream to one event name.
    await page.locator('#filter-event').selectOption('admin.action');
    const shown = await page
      .locator('#events tbody tr')
      .evaluateAll((rows) => rows.map((r) => (r as HTMLElement).dataset.event));
    expect(new Set(shown)).toEqual(new Set(['admin.action']));
    await page.locator('#filter-event').selectOption('');
    // Others still get in.
    expect(
      (await upgradeStatus(server.url, { authorization: `Bearer ${await signToken('ok')}` })).status,
    ).toBe(101);

    mkdirSync(outputDir, { recursive: true });
    await page.setViewportSize({ width: 1280, height: 1000 });
    await page.screenshot({ path: join(outputDir, 'dashboard-desktop.png'), fullPage: true });
    await page.setViewportSize({ width: 390, height: 844 });
    await page.screenshot({ path: join(outputDir, 'dashboard-phone.png') });
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    // The docs' screenshots are refreshed on request only, so a test run leaves the tree clean.
    if (process.env.WSGUARD_UPDATE_SCREENSHOTS === '1')
      for (const f of ['dashboard-desktop.png', 'dashboard-phone.png'])
        copyFileSync(join(outputDir, f), join(repoRoot, 'docs', 'images', f));
    await page.close();
  });

  it('lists the busiest channels and counts the subscriptions as sockets subscribe and leave', async () => {
    const page = await openDashboard(browser, server.port);
    await expect
      .poll(() => text(page, '#channels tbody td'), { timeout: 10_000 })
      .toBe('no channel has a subscriber');
    const peers: Peer[] = [];
    const join = async (user: string, channel: string) => {
      const { peer, csrf } = await connectAuthed(server.url, await signToken(user));
      peers.push(peer);
      peer.send({ type: 'subscribe', id: `s-${user}`, channel, csrf });
      expect(await peer.next('ack')).toMatchObject({ id: `s-${user}` });
    };
    for (const user of ['ch-a', 'ch-b', 'ch-c']) await join(user, 'room:lobby');
    await join('ch-d', 'room:side');
    const lobby = page.locator('#channels tr[data-channel="room:lobby"] td').nth(1);
    await expect.poll(() => lobby.textContent(), { timeout: 10_000 }).toBe('3');
    await expect.poll(() => text(page, '#subscriptions'), { timeout: 10_000 }).toBe('4');
    const listed = await page
      .locator('#channels tbody tr')
      .evaluateAll((rows) => rows.map((r) => (r as HTMLElement).dataset.channel));
    expect(listed).toEqual(['room:lobby', 'room:side']);
    for (const p of peers) p.close();
    await expect.poll(() => text(page, '#subscriptions'), { timeout: 10_000 }).toBe('0');
    await expect
      .poll(() => text(page, '#channels tbody td'), { timeout: 10_000 })
      .toBe('no channel has a subscriber');
    await page.close();
  });
});
