import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { setupWebSockets } from '../../../src/server/index.js';
import { connect, connectAuthed } from '../../helpers/peer.js';
import { signToken, startServer, TEST_SECRET, type TestServer } from '../../helpers/server.js';

const echo = { messages: { echo: z.unknown() }, handlers: { echo: (_c: unknown, p: unknown) => p } };

let srv: TestServer | undefined;
afterEach(async () => {
  await srv?.close();
  srv = undefined;
});

const httpUrl = (s: TestServer, path: string) => `http://127.0.0.1:${s.port}${path}`;

describe('connection monitoring', () => {
  it('terminates a socket that stops answering transport pings; a live one stays', async () => {
    srv = await startServer({ ...echo, heartbeatMs: 150 });
    const mute = await connectAuthed(srv.url, await signToken('mute'), { autoPong: false });
    const live = await connectAuthed(srv.url, await signToken('live'));
    expect((await mute.peer.closed).code).toBe(1006);
    live.peer.send({ id: 'l', type: 'echo', payload: 1, csrf: live.csrf });
    expect(await live.peer.next('ack')).toMatchObject({ id: 'l' });
    expect(srv.wss.stats().socketsOpen).toBe(1);
  });

  it('answers app-level ping with the client timestamp', async () => {
    srv = await startServer(echo);
    const { peer } = await connectAuthed(srv.url, await signToken('p'));
    peer.send({ type: 'ping', ts: 12345.5 });
    expect(await peer.next('pong')).toEqual({ type: 'pong', ts: 12345.5 });
  });

  it('closes a slow reader with 1013 instead of growing its send queue', async () => {
    // The slow reader must read its close within overloadTerminateMs of the server's decision
    // (else the server terminates it: 1006), so it resumes as soon as that decision is made, not
    // after the whole broadcast loop, which takes seconds on a loaded machine.
    let resumeSlow = () => {};
    srv = await startServer({
      ...echo,
      onEvent: (e) => {
        if (e.event === 'connection.closed' && e.code === 'WSG_OVERLOADED') resumeSlow();
      },
      limits: false,
      backpressure: { maxBufferedBytes: 64 * 1024, graceMs: 100, hardLimitBytes: 256 * 1024 },
      session: { checkIntervalMs: 50 },
    });
    const slow = await connectAuthed(srv.url, await signToken('slow'));
    const fast = await connectAuthed(srv.url, await signToken('fast'));
    // biome-ignore lint/suspicious/noExplicitAny: reaching the client's raw TCP socket to stop reading
    (slow.peer.ws as any)._socket.pause();
    // biome-ignore lint/suspicious/noExplicitAny: resume so the close can be read
    resumeSlow = () => (slow.peer.ws as any)._socket.resume();
    const big = 'x'.repeat(16 * 1024);
    const closed = slow.peer.closed;
    const before = srv.wss.stats().bytesOut;
    const frames = 2000; // 32 MB each: far more than the kernel's socket buffers hold
    for (let i = 0; i < frames; i++) {
      srv.wss.broadcast('news', big);
      if (i % 10 === 0) await new Promise((r) => setImmediate(r));
    }
    // The fast reader got every frame. The slow one got what the kernel buffers absorb (a few MB
    // on loopback) plus at most the hard limit in our queue, then nothing more: bounded.
    const queuedForSlow = srv.wss.stats().bytesOut - before - frames * (big.length + 30);
    expect(queuedForSlow).toBeLessThan(12 * 1024 * 1024);
    expect((await closed).code).toBe(1013);
    fast.peer.send({ id: 'f', type: 'echo', payload: 1, csrf: fast.csrf });
    // Behind 32 MB of news the fast reader's ack can take seconds on a loaded machine.
    expect(await fast.peer.next('ack', 15_000)).toMatchObject({ id: 'f' });
    expect(srv.wss.stats().closes['1013'] ?? srv.wss.stats().closes['1006']).toBeGreaterThanOrEqual(1);
  });

  it('stats() reports live figures', async () => {
    srv = await startServer(echo);
    const { peer, csrf } = await connectAuthed(srv.url, await signToken('s'));
    peer.send({ id: '1', type: 'echo', payload: 1, csrf });
    await peer.next('ack');
    peer.send({ id: '2', type: 'nope', payload: 1, csrf });
    await peer.next('error');
    const st = srv.wss.stats();
    expect(st).toMatchObject({
      socketsOpen: 1,
      socketsAuthenticated: 1,
      rejections: { WSG_UNKNOWN_TYPE: 1 },
    });
    expect(st.messagesIn).toBe(3);
    expect(st.messagesOut).toBe(3);
    expect(st.bytesIn).toBeGreaterThan(100);
    expect(st.handlerLatencyMs.samples).toBe(1);
    expect(st.uptimeMs).toBeGreaterThanOrEqual(0);
  });
});

describe('HTTP endpoints', () => {
  it('/healthz reports ok; /metrics is Prometheus text and its counters move after a rejection', async () => {
    srv = await startServer(echo);
    const health = await fetch(httpUrl(srv, '/healthz'));
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({
      status: 'ok',
      store: { kind: 'memory', status: 'ok' },
      sockets: { open: 0 },
    });

    const before = await (await fetch(httpUrl(srv, '/metrics'))).text();
    const { peer, csrf } = await connectAuthed(srv.url, await signToken('m'));
    peer.send({ id: 'x', type: 'echo', payload: 1, csrf: `${csrf}x` });
    await peer.next('error');
    const res = await fetch(httpUrl(srv, '/metrics'));
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    // every sample line is `name{labels} value`, every metric has HELP and TYPE
    for (const line of text.split('\n').filter((l) => l && !l.startsWith('#'))) {
      expect(line).toMatch(/^[a-z_]+(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? -?[\d.e+-]+$/);
    }
    expect(text).toMatch(/# TYPE wsguard_rejections_total counter/);
    expect(before).not.toMatch(/wsguard_rejections_total\{code="WSG_CSRF_INVALID"\}/);
    expect(text).toMatch(/wsguard_rejections_total\{code="WSG_CSRF_INVALID"\} 1/);
    expect(text).toMatch(/wsguard_sockets_open 1/);
    expect(text).toMatch(/wsguard_connections_total 1/);
    expect(text).toMatch(/wsguard_handler_duration_seconds_bucket/);
  });

  it('protects /metrics with a bearer token; leaves other requests to the app', async () => {
    const http: Server = createServer((_req, res) => {
      res.writeHead(200);
      res.end('app');
    });
    const wss = setupWebSockets(http, {
      auth: { jwt: { secret: TEST_SECRET } },
      logger: false,
      http: { metricsToken: 'scrape-secret-0123456789' },
    });
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
    expect((await fetch(`${base}/metrics`)).status).toBe(401);
    expect((await fetch(`${base}/metrics`, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
    expect(
      (await fetch(`${base}/metrics`, { headers: { authorization: 'Bearer scrape-secret-0123456789' } }))
        .status,
    ).toBe(200);
    expect(await (await fetch(`${base}/other`)).text()).toBe('app');
    expect(await (await fetch(`${base}/healthz`)).json()).toMatchObject({ status: 'ok' });
    await wss.close();
    expect(await (await fetch(`${base}/healthz`)).text()).toBe('app');
    http.close();
  });
});

describe('security log', () => {
  it('has the expected events and never a token or CSRF value', async () => {
    let log = '';
    const stream = new Writable({
      write(chunk, _e, cb) {
        log += chunk.toString();
        cb();
      },
    });
    srv = await startServer({
      ...echo,
      logger: pino({ level: 'debug' }, stream),
      allowedOrigins: ['https://ok.example'],
      requireOrigin: false,
    });
    const token = await signToken('logged', { jti: 'jti-1' });
    const { peer, csrf } = await connectAuthed(srv.url, token);
    peer.send({ id: '1', type: 'echo', payload: { secret: 'payload-content' }, csrf });
    await peer.next('ack');
    peer.send({ id: '2', type: 'echo', payload: 1, csrf: `${csrf.slice(0, -2)}zz` });
    await peer.next('error');
    const refreshToken = await signToken('logged');
    peer.send({ type: 'refresh', token: refreshToken });
    await peer.next('refresh_ok');
    const badToken = `${token.slice(0, -4)}AAAA`;
    const bad = await connect(srv.url);
    bad.send({ type: 'auth', token: badToken });
    await bad.closed;
    await connect(srv.url, {
      headers: { Origin: 'https://evil.example', Authorization: `Bearer ${token}` },
    }).catch(() => {});
    await srv.wss.revokeSession(
      (await connectAuthed(srv.url, await signToken('other'))).ok.sessionId as string,
    );
    peer.close();
    await peer.closed;
    await new Promise((r) => setTimeout(r, 50));
    const names = log
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l).event);
    for (const e of [
      'connection.accepted',
      'auth.success',
      'csrf.failure',
      'session.refreshed',
      'auth.failure',
      'origin.rejected',
      'session.revoked',
      'connection.closed',
    ]) {
      expect(names).toContain(e);
    }
    for (const line of log.split('\n').filter(Boolean)) {
      const e = JSON.parse(line);
      if (e.connectionId) expect(e.ip).toBe('127.0.0.1');
    }
    for (const secret of [token, refreshToken, badToken, csrf, 'payload-content'])
      expect(log).not.toContain(secret);
  });
});

describe('graceful shutdown', () => {
  it('with 100 messages in flight: every ack sent was handled, every socket gets 1001, the promise resolves', async () => {
    const handled = new Set<string>();
    let started = 0;
    srv = await startServer({
      messages: { work: z.object({ n: z.number() }) },
      handlers: {
        work: async (_c: unknown, p: { n: number }) => {
          started++;
          await new Promise((r) => setTimeout(r, 200));
          handled.add(String(p.n));
          return p.n;
        },
      },
      limits: false,
    });
    const peers = await Promise.all(
      Array.from({ length: 4 }, async (_, i) => connectAuthed(srv?.url as string, await signToken(`w${i}`))),
    );
    for (const [i, p] of peers.entries()) {
      for (let k = 0; k < 25; k++)
        p.peer.send({ id: `${i}-${k}`, type: 'work', payload: { n: i * 100 + k }, csrf: p.csrf });
    }
    // All 100 handlers are running (in flight) when the shutdown starts.
    await expect.poll(() => started, { timeout: 10_000 }).toBe(100);
    const s = srv;
    srv = undefined;
    await s.wss.close({ timeoutMs: 5000 });
    for (const p of peers) {
      expect((await p.peer.closed).code).toBe(1001);
      const acks = p.peer.frames.map((f) => JSON.parse(f)).filter((m) => m.type === 'ack');
      for (const a of acks) expect(handled.has(String(a.result))).toBe(true);
    }
    const acked = peers.flatMap((p) =>
      p.peer.frames.map((f) => JSON.parse(f)).filter((m) => m.type === 'ack'),
    );
    expect(acked.length).toBe(100);
    expect(handled.size).toBe(100);
    s.http.close();
  });
});
