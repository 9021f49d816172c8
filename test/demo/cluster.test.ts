import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { connectAuthed } from '../helpers/peer.js';
import { type Child, freePort, startChild, startDemo } from '../helpers/process.js';
import { repoRoot } from '../helpers/project.js';
import { hasRedis, type RedisServer, startRedis } from '../helpers/redis.js';

// `npm run start:cluster` and `REDIS_URL=... npm start` as the README shows them.
describe('demo cluster (npm run start:cluster)', () => {
  it('refuses to start without REDIS_URL, saying why', async () => {
    const child = startChild(process.execPath, ['dist/server/cluster.js'], {
      cwd: repoRoot,
      env: { REDIS_URL: '', PORT: String(await freePort()) },
    });
    await new Promise((resolve) => child.proc.once('exit', resolve));
    expect(child.proc.exitCode).toBe(1);
    expect(child.output()).toMatch(/start:cluster needs REDIS_URL/);
  });
});

describe.skipIf(!hasRedis)('demo cluster and two demo instances on one Redis', () => {
  let redis: RedisServer;
  const children: Child[] = [];
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await Promise.all(children.map((c) => c.stop()));
    await redis?.stop();
  });

  it('two workers: a chat line reaches every client whichever worker holds it', async () => {
    const port = await freePort();
    const child = startChild(process.execPath, ['dist/server/cluster.js'], {
      cwd: repoRoot,
      env: {
        REDIS_URL: redis.url,
        PORT: String(port),
        HOST: '127.0.0.1',
        WEB_CONCURRENCY: '2',
        NODE_ENV: 'development',
      },
    });
    children.push(child);
    await vi.waitFor(() => expect(child.output().match(/demo listening/g)?.length).toBe(2), {
      timeout: 20_000,
      interval: 100,
    });
    await vi.waitFor(
      async () =>
        expect(await (await fetch(`http://127.0.0.1:${port}/healthz`)).json()).toMatchObject({
          status: 'ok',
          store: { kind: 'redis' },
        }),
      { timeout: 10_000 },
    );
    // The cluster hands connections to the workers in turn, so these land on both.
    const clients = [];
    for (let i = 0; i < 4; i++) clients.push(await connectAuthed(`ws://127.0.0.1:${port}/ws`, 'test_token'));
    const [first] = clients;
    first?.peer.send({ id: 'c', type: 'chat', payload: { text: 'to all workers' }, csrf: first.csrf });
    for (const c of clients) {
      expect(await c.peer.next('chat')).toMatchObject({ payload: { text: 'to all workers' } });
      c.peer.close();
    }
  });

  it('two `npm start` instances on two ports share broadcasts through REDIS_URL', async () => {
    const [p1, p2] = [await freePort(), await freePort()];
    const one = startDemo(p1, { REDIS_URL: redis.url });
    const two = startDemo(p2, { REDIS_URL: redis.url });
    children.push(one, two);
    await Promise.all([one.waitFor(/store: redis/), two.waitFor(/store: redis/)]);
    await Promise.all([one.waitFor(/dev token/), two.waitFor(/dev token/)]);
    for (const p of [p1, p2]) {
      await vi.waitFor(
        async () => expect((await (await fetch(`http://127.0.0.1:${p}/healthz`)).json()).status).toBe('ok'),
        { timeout: 10_000 },
      );
    }
    const a = await connectAuthed(`ws://127.0.0.1:${p1}/ws`, 'test_token');
    const b = await connectAuthed(`ws://127.0.0.1:${p2}/ws`, 'test_token');
    a.peer.send({ id: 'x', type: 'chat', payload: { text: 'across instances' }, csrf: a.csrf });
    expect(await b.peer.next('chat')).toMatchObject({
      payload: { from: 'dev-user', text: 'across instances' },
    });
    a.peer.close();
    b.peer.close();
  });
});
