import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { assertNoLeak, connect, connectAuthed, type Peer, upgradeStatus } from '../../helpers/peer.js';
import { type Child, startChild } from '../../helpers/process.js';
import { repoRoot } from '../../helpers/project.js';
import { hasRedis, type RedisServer, startRedis } from '../../helpers/redis.js';
import { signToken } from '../../helpers/server.js';

interface Node {
  child: Child;
  port: number;
  url: string;
  /** Runs an admin command on the node and resolves when it is done. */
  command(cmd: Record<string, unknown>): Promise<void>;
  health(): Promise<{ status: string; store: { kind: string; status: string } }>;
}

async function startNode(redisUrl: string, env: Record<string, string> = {}): Promise<Node> {
  const child = startChild(process.execPath, ['--import', 'tsx', 'test/fixtures/redis-node.ts'], {
    cwd: repoRoot,
    env: { REDIS_URL: redisUrl, PREFIX: 'mn:', ...env },
  });
  const port = Number((await child.waitFor(/listening (\d+)/))[1]);
  let commands = 0;
  return {
    child,
    port,
    url: `ws://127.0.0.1:${port}/ws`,
    async command(cmd) {
      const n = ++commands;
      child.proc.stdin?.write(`${JSON.stringify(cmd)}\n`);
      await child.waitFor(new RegExp(`done ${n}\\b`));
    },
    async health() {
      const res = await fetch(`http://127.0.0.1:${port}/healthz`);
      return (await res.json()) as { status: string; store: { kind: string; status: string } };
    },
  };
}

const from = (ip: string) => ({ headers: { 'X-Forwarded-For': ip } });
const count = (node: Node, pattern: RegExp) => node.child.output().match(pattern)?.length ?? 0;

/** Sends one echo and returns the reply (ack or error). */
async function echo(c: { peer: Peer; csrf: string }, id: string) {
  c.peer.send({ id, type: 'echo', payload: id, csrf: c.csrf });
  for (;;) {
    const m = await c.peer.next();
    if (m.id === id) return m;
  }
}

/**
 * Two clients of one user, one per node, alternate messages until the first refusal.
 * Returns how many were acked and the longest the run could have refilled the bucket.
 */
async function sharedLimitRun(a: Node, b: Node, user: string, ip: string) {
  const token = await signToken(user);
  const ca = await connectAuthed(a.url, token, from(ip));
  const cb = await connectAuthed(b.url, token, from(ip));
  const started = Date.now();
  let acked = 0;
  let refusal: Record<string, unknown> | undefined;
  for (let i = 0; i < 60 && !refusal; i++) {
    const reply = await echo(i % 2 ? cb : ca, `m${i}`);
    if (reply.type === 'ack') acked++;
    else refusal = reply;
  }
  const seconds = (Date.now() - started) / 1000;
  ca.peer.close();
  cb.peer.close();
  return { acked, refusal, seconds };
}

describe.skipIf(!hasRedis)('two wsguard processes sharing one real Redis', () => {
  let redis: RedisServer;
  let a: Node;
  let b: Node;

  beforeAll(async () => {
    redis = await startRedis();
    [a, b] = await Promise.all([startNode(redis.url), startNode(redis.url)]);
    await vi.waitFor(async () => expect((await a.health()).store.status).toBe('ok'), { timeout: 10_000 });
    await vi.waitFor(async () => expect((await b.health()).store.status).toBe('ok'), { timeout: 10_000 });
  }, 30_000);
  afterAll(async () => {
    await Promise.all([a?.child.stop(), b?.child.stop()]);
    await redis?.stop();
  });

  it("a user's message limit is shared: sockets on A and B together hit WSG_RATE_LIMITED at the configured total", async () => {
    const run = await sharedLimitRun(a, b, 'shared-user', '198.51.100.1');
    // burst 20, rate 2/s: exact while Redis answers, plus what refilled during the run.
    expect(run.acked).toBeGreaterThanOrEqual(20);
    expect(run.acked).toBeLessThanOrEqual(20 + Math.ceil(run.seconds * 2));
    expect(run.refusal).toMatchObject({ type: 'error', code: 'WSG_RATE_LIMITED' });
    expect(run.refusal?.retryAfterMs).toBeGreaterThan(0);
    assertNoLeak([JSON.stringify(run.refusal)]);
  });

  it('a block made on A refuses that user on B', async () => {
    const token = await signToken('flooder');
    const ca = await connectAuthed(a.url, token, from('198.51.100.2'));
    // Past the burst, then strikes: A closes the socket 4429 and blocks the user.
    for (let i = 0; i < 40; i++) ca.peer.send({ id: `f${i}`, type: 'echo', payload: i, csrf: ca.csrf });
    expect((await ca.peer.closed).code).toBe(4429);
    const cb = await connect(b.url, from('198.51.100.3'));
    cb.send({ type: 'auth', token });
    const closed = await cb.closed;
    expect(closed.code).toBe(4429);
    expect(closed.reason).toMatch(/^WSG_BLOCKED;retryAfterMs=\d+$/);
    // Another user on B is served.
    const ok = await connectAuthed(b.url, await signToken('bystander'), from('198.51.100.4'));
    expect((await echo(ok, 'fine')).type).toBe('ack');
    ok.peer.close();
  });

  it('a block made on A is in Redis before A closes the socket: auth on B sent at the first WSG_BLOCKED frame is refused 4429', async () => {
    // The library's defaults on the flooded node (limits, penalties with IP blocks, anomaly).
    const d = await startNode(redis.url, { DEFAULT_LIMITS: '1' });
    try {
      await vi.waitFor(async () => expect((await d.health()).store.status).toBe('ok'), { timeout: 10_000 });
      for (let round = 0; round < 3; round++) {
        const token = await signToken(`racer-${round}`);
        const flooder = await connectAuthed(d.url, token, from(`198.51.100.${30 + round}`));
        // Opened before the flood, so the reconnect costs B no handshake time.
        const next = await connect(b.url, from(`198.51.100.${40 + round}`));
        const blocked = new Promise<void>((resolve) => {
          flooder.peer.ws.on('message', (data) => {
            if (String(data).includes('"WSG_BLOCKED"')) {
              next.send({ type: 'auth', token });
              resolve();
            }
          });
        });
        for (let i = 0; i < 600; i++)
          flooder.peer.send({ id: `f${i}`, type: 'echo', payload: i, csrf: flooder.csrf });
        await blocked;
        // Let in, B would answer auth_ok and keep the socket open: fail fast, not by timeout.
        const onBClosed = Promise.race([
          next.closed,
          next.next('auth_ok', 10_000).then(() => ({ code: 0, reason: 'auth_ok' })),
        ]);
        const [onA, onB] = await Promise.all([flooder.peer.closed, onBClosed]);
        expect(onA.code).toBe(4429);
        expect(onB.code).toBe(4429);
        expect(onB.reason).toMatch(/^WSG_BLOCKED;retryAfterMs=\d+$/);
        // A fresh upgrade with the token to B is refused at the gate too.
        const again = await upgradeStatus(b.url, {
          'X-Forwarded-For': `198.51.100.${50 + round}`,
          Authorization: `Bearer ${token}`,
        });
        expect(again.status).toBe(429);
      }
      const ok = await connectAuthed(b.url, await signToken('bystander-12'), from('198.51.100.60'));
      expect((await echo(ok, 'fine')).type).toBe('ack');
      ok.peer.close();
    } finally {
      await d.child.stop();
    }
  }, 60_000);

  it("an IP ban on A closes that IP's socket on B with 4403 and refuses it there with 403", async () => {
    const victim = await connectAuthed(b.url, await signToken('someone'), from('203.0.113.9'));
    const bystander = await connectAuthed(b.url, await signToken('other'), from('203.0.113.10'));
    await a.command({ cmd: 'ban', id: '203.0.113.9' });
    const closed = await victim.peer.closed;
    expect(closed).toEqual({ code: 4403, reason: 'WSG_BANNED' });
    expect((await upgradeStatus(b.url, { 'X-Forwarded-For': '203.0.113.9' })).status).toBe(403);
    expect((await echo(bystander, 'still')).type).toBe('ack');
    bystander.peer.close();
  });

  it("revokeUser on A closes the user's socket on B with 4403 (the delay is printed)", async () => {
    const c = await connectAuthed(b.url, await signToken('revoked-user'), from('198.51.100.5'));
    const started = performance.now();
    const closed = c.peer.closed.then((x) => ({ ...x, ms: performance.now() - started }));
    await a.command({ cmd: 'revokeUser', id: 'revoked-user' });
    const result = await closed;
    expect(result.code).toBe(4403);
    expect(result.reason).toBe('WSG_SESSION_REVOKED');
    console.log(`[measure] revokeUser on node A -> close on node B: ${result.ms.toFixed(1)} ms`);
  });

  it('a broadcast from A reaches clients on both nodes', async () => {
    const ca = await connectAuthed(a.url, await signToken('listener-a'), from('198.51.100.6'));
    const cb = await connectAuthed(b.url, await signToken('listener-b'), from('198.51.100.7'));
    await a.command({ cmd: 'broadcast', type: 'news', payload: { n: 1 } });
    expect(await ca.peer.next('news')).toEqual({ type: 'news', payload: { n: 1 } });
    expect(await cb.peer.next('news')).toEqual({ type: 'news', payload: { n: 1 } });
    ca.peer.close();
    cb.peer.close();
  });

  it('Redis killed: both nodes keep serving and say degraded; back: shared limits again; fail closed refuses meanwhile', async () => {
    const closedNode = await startNode(redis.url, { FAIL_MODE: 'closed' });
    try {
      await vi.waitFor(async () => expect((await closedNode.health()).store.status).toBe('ok'), {
        timeout: 10_000,
      });
      // Every kind of key the nodes wrote so far has a TTL (the kill below empties Redis); a
      // session lives while its socket is open.
      const holder = await connectAuthed(a.url, await signToken('holder'), from('198.51.100.13'));
      const keys = await redis.keys('mn:');
      for (const kind of ['rate:user:', 'session:', 'revoked:user:', 'ban:ip:', 'block:user:', 'offences:'])
        expect(
          keys.some((k) => k.startsWith(`mn:${kind}`)),
          kind,
        ).toBe(true);
      expect(await redis.keysWithoutTtl('mn:')).toEqual([]);
      holder.peer.close();
      // Made on A before the outage: they must still hold on B during it.
      const oldToken = await signToken('revoked-before-outage');
      await a.command({ cmd: 'revokeUser', id: 'revoked-before-outage' });
      await a.command({ cmd: 'ban', id: '203.0.113.50' });
      // B knows both now (from pub/sub, or from Redis when it checks): it refuses them already.
      const early = await connect(b.url, from('198.51.100.14'));
      early.send({ type: 'auth', token: oldToken });
      expect((await early.closed).code).toBe(4403);
      expect((await upgradeStatus(b.url, { 'X-Forwarded-For': '203.0.113.50' })).status).toBe(403);
      const degradedBefore = count(a, /event store\.degraded/g) + count(b, /event store\.degraded/g);
      await redis.kill();
      for (const node of [a, b]) {
        await vi.waitFor(
          async () =>
            expect(await node.health()).toMatchObject({
              status: 'degraded',
              store: { kind: 'redis', status: 'degraded' },
            }),
          { timeout: 10_000 },
        );
        await vi.waitFor(() => expect(count(node, /event store\.degraded/g)).toBeGreaterThan(0));
        const c = await connectAuthed(node.url, await signToken('during-outage'), from('198.51.100.8'));
        expect((await echo(c, 'x')).type).toBe('ack');
        c.peer.close();
      }
      expect(count(a, /event store\.degraded/g) + count(b, /event store\.degraded/g)).toBeGreaterThan(
        degradedBefore,
      );
      const refusedUser = await connect(b.url, from('198.51.100.12'));
      refusedUser.send({ type: 'auth', token: oldToken });
      expect((await refusedUser.closed).code).toBe(4403);
      expect((await upgradeStatus(b.url, { 'X-Forwarded-For': '203.0.113.50' })).status).toBe(403);
      // Fail closed: no new connections without the shared state.
      await vi.waitFor(async () => expect((await closedNode.health()).status).toBe('degraded'), {
        timeout: 10_000,
      });
      const refused = await upgradeStatus(closedNode.url, { 'X-Forwarded-For': '198.51.100.9' });
      expect(refused.status).toBe(503);
      assertNoLeak([refused.body]);

      await redis.start();
      for (const node of [a, b, closedNode]) {
        await vi.waitFor(async () => expect((await node.health()).status).toBe('ok'), {
          timeout: 15_000,
          interval: 100,
        });
        await node.child.waitFor(/event store\.recovered/);
      }
      const run = await sharedLimitRun(a, b, 'after-outage', '198.51.100.10');
      expect(run.acked).toBeGreaterThanOrEqual(20);
      expect(run.acked).toBeLessThanOrEqual(20 + Math.ceil(run.seconds * 2));
      expect(run.refusal).toMatchObject({ code: 'WSG_RATE_LIMITED' });
      const c = await connectAuthed(closedNode.url, await signToken('after'), from('198.51.100.11'));
      expect((await echo(c, 'back')).type).toBe('ack');
      c.peer.close();
    } finally {
      await closedNode.child.stop();
    }
  }, 60_000);

  it('leaves no key without a TTL in Redis after the outage either', async () => {
    expect((await redis.keys('mn:')).length).toBeGreaterThan(0);
    expect(await redis.keysWithoutTtl('mn:')).toEqual([]);
  });
});
