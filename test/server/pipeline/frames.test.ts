import { describe, expect, it } from 'vitest';
import { errorCodeList } from '../../../src/protocol/index.js';
import {
  ackMessageSchema,
  authOkMessageSchema,
  errorMessageSchema,
  pongMessageSchema,
  refreshOkMessageSchema,
  sessionExpiringMessageSchema,
} from '../../../src/protocol/schemas.js';
import {
  ackFrame,
  authOkFrame,
  errorFrame,
  eventFrame,
  pongFrame,
  refreshOkFrame,
  sessionExpiringFrame,
} from '../../../src/server/pipeline/frames.js';

// Every frame the server sends is built in frames.ts; each must be what the protocol's own
// schema for that message accepts.
describe('server frames', () => {
  it.each(errorCodeList)('error %s, with and without id and retryAfterMs', (code) => {
    for (const frame of [errorFrame(code, undefined), errorFrame(code, 'm"1', 1234.2)]) {
      expect(errorMessageSchema.strict().parse(JSON.parse(frame))).toMatchObject({ type: 'error', code });
    }
    expect(JSON.parse(errorFrame(code, 'm"1', 1234.2))).toMatchObject({ id: 'm"1', retryAfterMs: 1235 });
  });

  it('ack, with and without a result', () => {
    expect(ackMessageSchema.strict().parse(JSON.parse(ackFrame('a', undefined)))).toEqual({
      type: 'ack',
      id: 'a',
    });
    expect(JSON.parse(ackFrame('a', { n: [1] }))).toEqual({ type: 'ack', id: 'a', result: { n: [1] } });
    expect(() => ackFrame('a', 1n)).toThrow();
  });

  it('control frames', () => {
    expect(pongMessageSchema.strict().parse(JSON.parse(pongFrame(12.5)))).toEqual({ type: 'pong', ts: 12.5 });
    expect(sessionExpiringMessageSchema.strict().parse(JSON.parse(sessionExpiringFrame(99)))).toEqual({
      type: 'session_expiring',
      expiresAt: 99,
    });
    expect(
      refreshOkMessageSchema
        .strict()
        .parse(JSON.parse(refreshOkFrame(5, 'tok', { maxPayload: 3, burst: 2 }))),
    ).toEqual({
      type: 'refresh_ok',
      expiresAt: 5,
      csrfToken: 'tok',
      limits: { maxPayload: 3, burst: 2 },
    });
    const authOk = authOkFrame({
      sessionId: 's',
      csrfToken: 'c',
      expiresAt: 1,
      heartbeatMs: 2,
      limits: { maxPayload: 3 },
    });
    expect(authOkMessageSchema.strict().parse(JSON.parse(authOk))).toEqual({
      type: 'auth_ok',
      sessionId: 's',
      csrfToken: 'c',
      expiresAt: 1,
      heartbeatMs: 2,
      limits: { maxPayload: 3 },
    });
  });

  it('application events carry a payload, null when there is none', () => {
    expect(JSON.parse(eventFrame('news', undefined))).toEqual({ type: 'news', payload: null });
    expect(JSON.parse(eventFrame('a"b', { x: 1 }))).toEqual({ type: 'a"b', payload: { x: 1 } });
  });
});

const ids = ['0-1', 'a'.repeat(64), 'say"hi"', 'back\\slash', '}{"type":"x', '\u00e9', '\u2028', '"'];

// Ids are quoted without JSON.stringify when they hold nothing to escape: the result must be
// byte for byte what JSON.stringify gives, for any id.
describe('server frames: message ids', () => {
  it('ack frames are valid JSON carrying the id as sent, whatever characters it holds', () => {
    for (const id of ids) {
      expect(JSON.parse(ackFrame(id, undefined))).toEqual({ type: 'ack', id });
      expect(JSON.parse(ackFrame(id, { n: 1 }))).toEqual({ type: 'ack', id, result: { n: 1 } });
    }
  });

  it('a plain id is written between quotes, byte for byte what JSON.stringify gives', () => {
    expect(ackFrame('0-1', 7)).toBe('{"type":"ack","id":"0-1","result":7}');
    for (const id of ids)
      expect(ackFrame(id, null)).toBe(`{"type":"ack","id":${JSON.stringify(id)},"result":null}`);
  });

  it('error frames carry the id the same way', () => {
    for (const id of ids) {
      const m = JSON.parse(errorFrame('WSG_VALIDATION_FAILED', id));
      expect(m.id).toBe(id);
      expect(m.code).toBe('WSG_VALIDATION_FAILED');
    }
  });

  it('an ack of a value JSON cannot encode throws, for the caller to answer WSG_INTERNAL', () => {
    expect(() => ackFrame('1', { n: 1n })).toThrow();
  });
});
