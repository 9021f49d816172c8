import { describe, expect, it, vi } from 'vitest';
import { BOUNDS, clampRetryAfter, inboundBound, safeTimeout } from '../../src/client/bounds.js';
import { parseServerFrame } from '../../src/client/frames.js';
import { MAX_TIMER_MS } from '../../src/client/util.js';

describe('bounds on what a server controls', () => {
  it('clamps a retry-after to its maximum and ignores one that is not a finite number >= 0', () => {
    expect(clampRetryAfter(999_999_999_999, BOUNDS.maxReconnectRetryAfterMs)).toBe(600_000);
    expect(clampRetryAfter(1500, BOUNDS.maxReconnectRetryAfterMs)).toBe(1500);
    for (const bad of [-1, Number.NaN, Number.POSITIVE_INFINITY, '5000', null]) {
      expect(clampRetryAfter(bad, 1000)).toBeUndefined();
    }
  });

  it('takes the announced maxPayload as the inbound bound, within 1 byte .. 16 MiB; else 1 MiB', () => {
    expect(inboundBound(65_536)).toBe(65_536);
    expect(inboundBound(2 ** 40)).toBe(BOUNDS.maxInboundBytes);
    for (const bad of [undefined, 0, -5, 1.5, '65536']) expect(inboundBound(bad)).toBe(1024 * 1024);
  });

  it('safeTimeout never hands setTimeout a delay over 2^31-1 ms', () => {
    const spy = vi.spyOn(globalThis, 'setTimeout');
    for (const ms of [999_999_999_999, Number.POSITIVE_INFINITY, Number.NaN, -5])
      clearTimeout(safeTimeout(() => {}, ms));
    const delays = spy.mock.calls.map((c) => c[1]);
    spy.mockRestore();
    expect(delays).toEqual([MAX_TIMER_MS, MAX_TIMER_MS, MAX_TIMER_MS, 0]);
  });

  it('frames: an error retryAfterMs is clamped; auth_ok with an oversized CSRF token or session id is malformed', () => {
    const e = parseServerFrame('{"type":"error","code":"WSG_RATE_LIMITED","retryAfterMs":999999999999}');
    expect(e).toMatchObject({ kind: 'error', retryAfterMs: BOUNDS.maxReconnectRetryAfterMs });
    const ok = { type: 'auth_ok', sessionId: 's', csrfToken: 'c'.repeat(512), limits: { maxPayload: -1 } };
    expect(parseServerFrame(JSON.stringify(ok))).toMatchObject({ kind: 'auth_ok', maxPayload: undefined });
    expect(parseServerFrame(JSON.stringify({ ...ok, csrfToken: 'c'.repeat(513) }))).toEqual({
      kind: 'bad_auth_ok',
    });
    expect(parseServerFrame(JSON.stringify({ ...ok, sessionId: 's'.repeat(257) }))).toEqual({
      kind: 'bad_auth_ok',
    });
  });

  it('frames: own __proto__ or constructor.prototype keys anywhere make the frame invalid, deep nesting included', () => {
    expect(parseServerFrame('{"type":"x","payload":{"__proto__":{"a":1}}}')).toEqual({ kind: 'invalid' });
    expect(parseServerFrame('{"type":"x","payload":[{"constructor":{"prototype":{}}}]}')).toEqual({
      kind: 'invalid',
    });
    expect(parseServerFrame('{"type":"x","payload":{"constructor":"fine"}}')).toMatchObject({
      kind: 'event',
    });
    const deep = `{"type":"x","payload":${'['.repeat(5000)}${']'.repeat(5000)}}`;
    expect(parseServerFrame(deep)).toMatchObject({ kind: 'event' });
  });
});
