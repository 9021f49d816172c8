import { describe, expect, it } from 'vitest';
import { parseServerFrame } from '../../src/client/frames.js';

const parse = (v: unknown) => parseServerFrame(typeof v === 'string' ? v : JSON.stringify(v));

describe('parseServerFrame', () => {
  it('reads auth_ok, and calls one without a session id or CSRF token malformed', () => {
    expect(
      parse({ type: 'auth_ok', sessionId: 's', csrfToken: 'c', expiresAt: 5, limits: { maxPayload: 10 } }),
    ).toEqual({
      kind: 'auth_ok',
      sessionId: 's',
      csrfToken: 'c',
      expiresAt: 5,
      maxPayload: 10,
      limits: { maxPayload: 10 },
    });
    expect(parse({ type: 'auth_ok', sessionId: 's', csrfToken: 'c', expiresAt: '5' })).toEqual({
      kind: 'auth_ok',
      sessionId: 's',
      csrfToken: 'c',
      expiresAt: undefined,
      maxPayload: undefined,
    });
    for (const bad of [{ sessionId: 's' }, { sessionId: 's', csrfToken: '' }, { csrfToken: 'c' }]) {
      expect(parse({ type: 'auth_ok', ...bad })).toEqual({ kind: 'bad_auth_ok' });
    }
  });

  it('reads error replies: an unknown code is WSG_INTERNAL, the text is capped, a bad retry-after dropped', () => {
    expect(
      parse({ type: 'error', id: 'm1', code: 'WSG_RATE_LIMITED', message: 'slow', retryAfterMs: 5 }),
    ).toEqual({
      kind: 'error',
      id: 'm1',
      code: 'WSG_RATE_LIMITED',
      message: 'slow',
      retryAfterMs: 5,
    });
    const odd = parse({
      type: 'error',
      id: 7,
      code: 'NOT_A_CODE',
      message: 'x'.repeat(500),
      retryAfterMs: -1,
    });
    expect(odd).toMatchObject({
      kind: 'error',
      id: undefined,
      code: 'WSG_INTERNAL',
      retryAfterMs: undefined,
    });
    expect(odd?.kind === 'error' && odd.message.length).toBe(200);
    expect(parse({ type: 'error', code: 'WSG_CSRF_INVALID' })).toMatchObject({ message: expect.any(String) });
  });

  it('reads ack, pong, session_expiring, refresh_ok and application events', () => {
    expect(parse({ type: 'ack', id: 'a', result: [1] })).toEqual({ kind: 'ack', id: 'a', result: [1] });
    expect(parse({ type: 'pong', ts: 12.5 })).toEqual({ kind: 'pong', ts: 12.5 });
    expect(parse({ type: 'session_expiring', expiresAt: 1 })).toEqual({ kind: 'session_expiring' });
    expect(parse({ type: 'refresh_ok', csrfToken: 'n', expiresAt: 9 })).toEqual({
      kind: 'refresh_ok',
      csrfToken: 'n',
      expiresAt: 9,
    });
    expect(parse({ type: 'chat', payload: { text: 'hi' } })).toEqual({
      kind: 'event',
      type: 'chat',
      payload: { text: 'hi' },
    });
  });

  it('ignores what the client must not act on, and flags what is not JSON', () => {
    expect(parse('{not json')).toEqual({ kind: 'invalid' });
    for (const ignored of [
      [],
      null,
      5,
      { no: 'type' },
      { type: 3 },
      { type: 'pong' },
      { type: 'auth' },
      { type: 'refresh' },
      { type: 'ping' },
    ]) {
      expect(parse(ignored), JSON.stringify(ignored)).toBeUndefined();
    }
  });
});
