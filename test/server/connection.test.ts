import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { assertNoLeak, connect, connectAuthed } from '../helpers/peer.js';
import { expectStillServing } from '../helpers/served.js';
import { signToken, startServer, type TestServer } from '../helpers/server.js';

let srv: TestServer | undefined;
afterEach(async () => {
  await srv?.close();
  srv = undefined;
});

function logSink() {
  const sink = { text: '' };
  const stream = new Writable({
    write(chunk, _enc, cb) {
      sink.text += chunk.toString();
      cb();
    },
  });
  return { sink, logger: pino({ level: 'info' }, stream) };
}

const handled: unknown[] = [];
const options = {
  messages: {
    echo: z.unknown(),
    chat: z.object({ text: z.string().min(1).max(20) }),
    boom: z.unknown(),
    bigint: z.unknown(),
    slow: z.unknown(),
  },
  handlers: {
    echo: (_c: unknown, p: unknown) => {
      handled.push(p);
      return p;
    },
    chat: () => undefined,
    boom: () => {
      throw new Error('secret stack detail at /srv/app/handlers.ts:42');
    },
    bigint: () => ({ n: 10n }),
    slow: async (_c: unknown, p: unknown) => {
      await new Promise((r) => setTimeout(r, 50));
      handled.push(p);
      return p;
    },
  },
};

async function authed(extra: object = {}) {
  srv = await startServer({ ...options, ...extra });
  return connectAuthed(srv.url, await signToken('alice'));
}

describe('message pipeline rejections', () => {
  const replyCases: [string, string | ((csrf: string) => string), string][] = [
    ['unparsable JSON', '{', 'WSG_INVALID_JSON'],
    ['an array', '[]', 'WSG_INVALID_MESSAGE'],
    ['a string', '"hi"', 'WSG_INVALID_MESSAGE'],
    ['10,000-deep nesting', `${'['.repeat(10_000)}${']'.repeat(10_000)}`, 'WSG_UNSAFE_JSON'],
    ['__proto__ key', '{"__proto__":{"polluted":1},"type":"echo"}', 'WSG_UNSAFE_JSON'],
    [
      'nested __proto__',
      (c) => `{"type":"echo","csrf":"${c}","payload":{"a":{"__proto__":{"polluted":1}}}}`,
      'WSG_UNSAFE_JSON',
    ],
    [
      'constructor.prototype',
      '{"constructor":{"prototype":{"polluted":1}},"type":"echo"}',
      'WSG_UNSAFE_JSON',
    ],
    ['an unknown type', (c) => `{"id":"u1","type":"nope","payload":1,"csrf":"${c}"}`, 'WSG_UNKNOWN_TYPE'],
    ['a reserved type (ack)', (c) => `{"id":"r1","type":"ack","csrf":"${c}"}`, 'WSG_INVALID_MESSAGE'],
    ['a reserved type (auth_ok)', '{"type":"auth_ok"}', 'WSG_INVALID_MESSAGE'],
    ['auth again', '{"type":"auth","token":"x"}', 'WSG_INVALID_MESSAGE'],
    ['a ping without ts', '{"type":"ping"}', 'WSG_INVALID_MESSAGE'],
    ['a ping without ts, spaced', '{"type": "ping"}', 'WSG_INVALID_MESSAGE'],
    ['a ping with a string ts', '{"type":"ping","ts":"1"}', 'WSG_INVALID_MESSAGE'],
    ['an invalid type name', '{"type":"<script>","payload":1}', 'WSG_INVALID_MESSAGE'],
    ['an extra envelope key', (c) => `{"type":"echo","csrf":"${c}","admin":true}`, 'WSG_INVALID_MESSAGE'],
    ['a too long id', (c) => `{"id":"${'x'.repeat(65)}","type":"echo","csrf":"${c}"}`, 'WSG_INVALID_MESSAGE'],
    [
      'a schema failure',
      (c) => `{"id":"s1","type":"chat","payload":{"text":""},"csrf":"${c}"}`,
      'WSG_VALIDATION_FAILED',
    ],
    ['a missing CSRF token', '{"id":"c1","type":"echo","payload":1}', 'WSG_CSRF_INVALID'],
    ['a wrong CSRF token', '{"id":"c2","type":"echo","payload":1,"csrf":"wrong"}', 'WSG_CSRF_INVALID'],
    ['a handler that throws', (c) => `{"id":"b1","type":"boom","csrf":"${c}"}`, 'WSG_INTERNAL'],
    ['a result JSON cannot encode', (c) => `{"id":"b2","type":"bigint","csrf":"${c}"}`, 'WSG_INTERNAL'],
  ];

  it.each(replyCases)('replies to %s with its code and keeps the socket open', async (_name, input, code) => {
    const { peer, csrf } = await authed();
    handled.length = 0;
    peer.sendRaw(typeof input === 'string' ? input : input(csrf));
    const err = await peer.next('error');
    expect(err.code).toBe(code);
    expect(Object.keys(err).sort()).toEqual(
      err.id === undefined ? ['code', 'message', 'type'] : ['code', 'id', 'message', 'type'],
    );
    expect(handled).toEqual([]);
    // the same socket still works
    peer.send({ id: 'after', type: 'echo', payload: 'fine', csrf });
    expect(await peer.next('ack')).toEqual({ type: 'ack', id: 'after', result: 'fine' });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    assertNoLeak(peer.frames);
    await expectStillServing(srv?.url as string);
  });

  it('refuses a binary frame with WSG_BINARY_NOT_ALLOWED and stays open', async () => {
    const { peer, csrf } = await authed();
    peer.sendRaw(Buffer.from('{"type":"echo"}'), true);
    expect(await peer.next('error')).toMatchObject({ code: 'WSG_BINARY_NOT_ALLOWED' });
    peer.send({ id: 'a', type: 'echo', payload: 1, csrf });
    expect(await peer.next('ack')).toMatchObject({ id: 'a' });
  });

  it('routes binary frames to binaryType when set', async () => {
    const got: Buffer[] = [];
    srv = await startServer({
      messages: {},
      binaryType: 'upload',
      handlers: { upload: (_c: unknown, p: unknown) => void got.push(p as Buffer) },
    } as never);
    const { peer } = await connectAuthed(srv.url, await signToken('bin'));
    peer.sendRaw(Buffer.from([1, 2, 3]), true);
    await expect.poll(() => got.length).toBe(1);
    expect([...(got[0] as Buffer)]).toEqual([1, 2, 3]);
  });

  it('closes 1009 for 64 KiB + 1 byte', async () => {
    const { peer } = await authed();
    peer.sendRaw('x'.repeat(64 * 1024 + 1));
    expect((await peer.closed).code).toBe(1009);
    await expectStillServing(srv?.url as string);
  });

  it('100,000 keys: 1009 at the default size, WSG_UNSAFE_JSON past the key limit with a larger maxPayload', async () => {
    const keys = `{${Array.from({ length: 100_000 }, (_, i) => `"k${i}":0`).join(',')}}`;
    const small = await authed();
    small.peer.sendRaw(keys);
    expect((await small.peer.closed).code).toBe(1009);
    await srv?.close();
    const big = await authed({ maxPayload: 4 * 1024 * 1024 });
    big.peer.sendRaw(keys);
    expect(await big.peer.next('error')).toMatchObject({ code: 'WSG_UNSAFE_JSON' });
  });

  it('logs a thrown handler error in full, but sends only WSG_INTERNAL', async () => {
    const { sink, logger } = logSink();
    srv = await startServer({ ...options, logger });
    const { peer, csrf } = await connectAuthed(srv.url, await signToken('alice'));
    peer.send({ id: 'b', type: 'boom', csrf });
    expect(await peer.next('error')).toEqual({
      type: 'error',
      id: 'b',
      code: 'WSG_INTERNAL',
      message: 'Internal error',
    });
    expect(sink.text).toContain('handler.error');
    expect(sink.text).toContain('secret stack detail');
    assertNoLeak(peer.frames);
  });

  it('rejects ctx.close with a reserved code as a handler error, keeping the socket usable', async () => {
    srv = await startServer({
      messages: { echo: z.unknown(), quit: z.unknown() },
      handlers: {
        echo: (_c: unknown, p: unknown) => p,
        quit: (ctx: { close(c: number): void }) => ctx.close(1006),
      },
    } as never);
    const { peer, csrf } = await connectAuthed(srv.url, await signToken('q'));
    peer.send({ id: 'q', type: 'quit', csrf });
    expect(await peer.next('error')).toMatchObject({ id: 'q', code: 'WSG_INTERNAL' });
    peer.send({ id: 'e', type: 'echo', payload: 2, csrf });
    expect(await peer.next('ack')).toMatchObject({ id: 'e', result: 2 });
  });
});

describe('idempotent ids', () => {
  it('the same id twice: handled once, acked twice with the same result', async () => {
    const { peer, csrf } = await authed();
    handled.length = 0;
    peer.send({ id: 'dup', type: 'slow', payload: { n: 1 }, csrf });
    peer.send({ id: 'dup', type: 'slow', payload: { n: 1 }, csrf });
    const a = await peer.next('ack');
    const b = await peer.next('ack');
    expect(a).toEqual({ type: 'ack', id: 'dup', result: { n: 1 } });
    expect(b).toEqual(a);
    expect(handled).toEqual([{ n: 1 }]);
  });

  it('the same id from a new socket of the same user is not handled again', async () => {
    const first = await authed();
    handled.length = 0;
    first.peer.send({ id: 'again', type: 'echo', payload: 7, csrf: first.csrf });
    await first.peer.next('ack');
    first.peer.close();
    const second = await connectAuthed(srv?.url as string, await signToken('alice'));
    second.peer.send({ id: 'again', type: 'echo', payload: 7, csrf: second.csrf });
    expect(await second.peer.next('ack')).toEqual({ type: 'ack', id: 'again', result: 7 });
    expect(handled).toEqual([7]);
    // another user's identical id is their own message
    const other = await connectAuthed(srv?.url as string, await signToken('bob'));
    other.peer.send({ id: 'again', type: 'echo', payload: 8, csrf: other.csrf });
    expect(await other.peer.next('ack')).toEqual({ type: 'ack', id: 'again', result: 8 });
    expect(handled).toEqual([7, 8]);
  });
});

describe('control messages and the limits', () => {
  const echoOnly = { messages: { echo: z.unknown() }, handlers: { echo: (_c: unknown, p: unknown) => p } };

  it('app pings from several sockets of one user count toward the per-user limit', async () => {
    srv = await startServer({
      ...echoOnly,
      limits: { user: { rate: 1, burst: 10 }, messages: { rate: 1000, burst: 1000 }, penalties: false },
    });
    const token = await signToken('pinger');
    const url = srv.url;
    const peers = await Promise.all([1, 2, 3].map(() => connectAuthed(url, token)));
    const answers: Record<string, unknown>[] = [];
    for (let i = 0; i < 10; i++) {
      for (const { peer } of peers) peer.send({ type: 'ping', ts: i });
    }
    for (const { peer } of peers) {
      for (let i = 0; i < 10; i++) answers.push(await peer.next());
    }
    const refused = answers.filter((a) => a.type === 'error');
    expect(answers.filter((a) => a.type === 'pong').length).toBeLessThanOrEqual(12);
    expect(refused.length).toBeGreaterThanOrEqual(18);
    for (const r of refused) expect(r).toMatchObject({ code: 'WSG_RATE_LIMITED' });
    expect(typeof refused[0]?.retryAfterMs).toBe('number');
    for (const { peer } of peers) peer.close();
    await expectStillServing(srv.url);
  });

  it('pings without ts count toward the socket limit and the anomaly score like other malformed frames', async () => {
    srv = await startServer({
      ...echoOnly,
      limits: { messages: { rate: 1, burst: 5 }, penalties: false },
      anomaly: { thresholds: { warn: 1000, disconnect: 2000, block: 3000 } },
    });
    const { peer, csrf } = await connectAuthed(srv.url, await signToken('bare-pinger'));
    for (let i = 0; i < 8; i++) peer.sendRaw('{"type":"ping"}');
    const answers: Record<string, unknown>[] = [];
    for (let i = 0; i < 8; i++) answers.push(await peer.next('error'));
    expect(answers.slice(0, 5).map((a) => a.code)).toEqual(Array(5).fill('WSG_INVALID_MESSAGE'));
    expect(answers.slice(5).map((a) => a.code)).toEqual(Array(3).fill('WSG_RATE_LIMITED'));
    for (const a of answers) expect(a.id).toBeUndefined();
    assertNoLeak(peer.frames);
    // the socket stays open: a message after the wait is handled
    await new Promise((r) => setTimeout(r, 1100));
    peer.send({ id: 'after', type: 'echo', payload: 1, csrf });
    expect(await peer.next('ack')).toEqual({ type: 'ack', id: 'after', result: 1 });
    peer.close();
    await expectStillServing(srv.url);
  });

  it('a bare ping closes the socket 1008 WSG_ANOMALY at the malformed weight, as before', async () => {
    srv = await startServer({
      ...echoOnly,
      anomaly: { weights: { malformed: 5 }, thresholds: { warn: 10, disconnect: 25, block: 1000 } },
    });
    const { peer } = await connectAuthed(srv.url, await signToken('bare-anomaly'));
    // The 5th reaches 25 at once; the 6th if the score decayed a little between them (a slow run).
    for (let i = 0; i < 8; i++) peer.sendRaw('{"type":"ping"}');
    const close = await peer.closed;
    expect(close.code).toBe(1008);
    expect(close.reason).toBe('WSG_ANOMALY');
    await expectStillServing(srv.url);
  });

  it('refresh has its own tight limit per session: a refresh loop is refused WSG_RATE_LIMITED', async () => {
    srv = await startServer(echoOnly);
    const { peer } = await connectAuthed(srv.url, await signToken('refresher'));
    const answers: Record<string, unknown>[] = [];
    for (let i = 0; i < 6; i++) {
      peer.send({ type: 'refresh', token: await signToken('refresher', { jti: `r${i}` }) });
      answers.push(await peer.next());
    }
    expect(answers.slice(0, 2).every((a) => a.type === 'refresh_ok')).toBe(true);
    const refused = answers.filter((a) => a.type === 'error');
    expect(refused.length).toBeGreaterThanOrEqual(3);
    for (const r of refused) {
      expect(r).toMatchObject({ code: 'WSG_RATE_LIMITED' });
      expect(r.retryAfterMs as number).toBeGreaterThan(1000);
    }
    assertNoLeak(peer.frames);
    peer.close();
    await expectStillServing(srv.url);
  });
});

describe('before auth', () => {
  const echoOnly = { messages: { echo: z.unknown() }, handlers: { echo: (_c: unknown, p: unknown) => p } };

  it('a frame over preAuthMaxPayload is closed 1009 before any JSON work; a big deep one too', async () => {
    srv = await startServer({ ...echoOnly, limits: false, anomaly: false });
    const deep = `${'['.repeat(30_000)}${']'.repeat(30_000)}`;
    for (const text of [JSON.stringify({ type: 'auth', token: 'x'.repeat(12_000) }), deep]) {
      const peer = await connect(srv.url);
      peer.sendRaw(text);
      expect(await peer.closed).toEqual({ code: 1009, reason: 'WSG_MESSAGE_TOO_LARGE' });
      assertNoLeak(peer.frames);
    }
    // A real auth message with a long token still fits.
    const ok = await connect(srv.url);
    ok.send({ type: 'auth', token: await signToken(`long-${'u'.repeat(200)}`) });
    expect(await ok.next('auth_ok')).toMatchObject({ type: 'auth_ok' });
    ok.close();
    await expectStillServing(srv.url);
  });

  it('deep or wide JSON is refused from a scan of the text, before parsing (also after auth)', async () => {
    srv = await startServer({ ...echoOnly, limits: false, anomaly: false });
    const { peer, csrf } = await connectAuthed(srv.url, await signToken('deep'));
    const deep = `{"id":"d","type":"echo","csrf":"${csrf}","payload":${'['.repeat(5000)}${']'.repeat(5000)}}`;
    peer.sendRaw(deep);
    expect(await peer.next('error')).toMatchObject({ code: 'WSG_UNSAFE_JSON' });
    peer.sendRaw(`{"id":"w","type":"echo","csrf":"${csrf}","payload":[${'1,'.repeat(3000)}1]}`);
    expect(await peer.next('error')).toMatchObject({ code: 'WSG_UNSAFE_JSON' });
    // Brackets and commas inside strings do not count.
    peer.send({ id: 's', type: 'echo', csrf, payload: `${'[,'.repeat(3000)}` });
    expect(await peer.next('ack')).toMatchObject({ id: 's' });
    peer.close();
  });
});
