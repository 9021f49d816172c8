import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { assertNoLeak, connectAuthed } from '../helpers/peer.js';
import { expectStillServing } from '../helpers/served.js';
import { signToken, startServer, type TestServer } from '../helpers/server.js';

// Every `error` reply to a message whose id could be read carries that id, so a client can
// settle exactly that send (envelope and parse refusals included).

let srv: TestServer | undefined;
afterEach(async () => {
  await srv?.close();
  srv = undefined;
});

const options = {
  messages: {
    echo: z.unknown(),
    chat: z.object({ text: z.string().min(1) }),
    boom: z.unknown(),
    hang: z.unknown(),
  },
  handlers: {
    echo: (_c: unknown, p: unknown) => p,
    chat: () => undefined,
    boom: () => {
      throw new Error('internal detail');
    },
    hang: () => new Promise(() => {}),
  },
  handlerTimeoutMs: 200,
};

async function authed(extra: object = {}) {
  srv = await startServer({ ...options, ...extra });
  return connectAuthed(srv.url, await signToken('ids-user'));
}

describe('error replies carry the id', () => {
  const cases: [string, (csrf: string) => string, string][] = [
    ['invalid JSON', () => '{"id":"j1","type":"echo",', 'WSG_INVALID_JSON'],
    ['unsafe JSON (__proto__)', () => '{"id":"u1","type":"echo","__proto__":{"x":1}}', 'WSG_UNSAFE_JSON'],
    ['a reserved type', (c) => `{"id":"r1","type":"ack","csrf":"${c}"}`, 'WSG_INVALID_MESSAGE'],
    ['a reserved type (auth_ok)', (c) => `{"id":"r2","type":"auth_ok","csrf":"${c}"}`, 'WSG_INVALID_MESSAGE'],
    [
      'an extra envelope key',
      (c) => `{"id":"e1","type":"echo","csrf":"${c}","admin":1}`,
      'WSG_INVALID_MESSAGE',
    ],
    ['a bad type name', (c) => `{"id":"e2","type":"<b>","csrf":"${c}"}`, 'WSG_INVALID_MESSAGE'],
    ['an unknown type', (c) => `{"id":"k1","type":"nope","csrf":"${c}"}`, 'WSG_UNKNOWN_TYPE'],
    [
      'a schema failure',
      (c) => `{"id":"v1","type":"chat","payload":{"text":""},"csrf":"${c}"}`,
      'WSG_VALIDATION_FAILED',
    ],
    ['a wrong CSRF token', () => '{"id":"c1","type":"echo","payload":1,"csrf":"wrong"}', 'WSG_CSRF_INVALID'],
    ['a handler that throws', (c) => `{"id":"i1","type":"boom","csrf":"${c}"}`, 'WSG_INTERNAL'],
    ['a handler that never answers', (c) => `{"id":"t1","type":"hang","csrf":"${c}"}`, 'WSG_HANDLER_TIMEOUT'],
  ];

  it.each(cases)('%s: the error names the id', async (_name, input, code) => {
    const { peer, csrf } = await authed();
    const text = input(csrf);
    peer.sendRaw(text);
    const err = await peer.next('error');
    expect(err.code).toBe(code);
    expect(err.id).toBe(/"id":"([^"]+)"/.exec(text)?.[1]);
    peer.send({ id: 'after', type: 'echo', payload: 1, csrf });
    expect(await peer.next('ack')).toMatchObject({ id: 'after' });
    assertNoLeak(peer.frames);
    await expectStillServing(srv?.url as string);
  });

  it('an id that is not well formed is not echoed', async () => {
    const { peer, csrf } = await authed();
    peer.sendRaw(`{"id":"${'x'.repeat(65)}","type":"echo","csrf":"${csrf}"}`);
    const err = await peer.next('error');
    expect(err).toMatchObject({ code: 'WSG_INVALID_MESSAGE' });
    expect(err.id).toBeUndefined();
  });

  const rateCases: [string, object][] = [
    ['per socket', { messages: { rate: 0.01, burst: 1 } }],
    ['per socket bytes', { bytes: { rate: 1, burst: 60 } }],
    ['per user', { user: { rate: 0.01, burst: 1 } }],
    ['per type', { types: { echo: { rate: 0.01, burst: 1 } } }],
  ];
  it.each(rateCases)('WSG_RATE_LIMITED %s names the id and a retryAfterMs', async (_name, limits) => {
    const { peer, csrf } = await authed({ limits });
    peer.send({ id: 'ok1', type: 'echo', payload: 1, csrf });
    expect(await peer.next('ack')).toMatchObject({ id: 'ok1' });
    peer.send({ id: 'limited1', type: 'echo', payload: 1, csrf });
    const err = await peer.next('error');
    expect(err).toMatchObject({ id: 'limited1', code: 'WSG_RATE_LIMITED' });
    expect(err.retryAfterMs).toBeGreaterThan(0);
    await expectStillServing(srv?.url as string);
  });
});
