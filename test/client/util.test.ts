import { describe, expect, it } from 'vitest';
import { isObject, MAX_TIMER_MS, toError } from '../../src/client/util.js';

describe('client utilities', () => {
  it('isObject accepts plain objects only', () => {
    expect([{}, { a: 1 }].map(isObject)).toEqual([true, true]);
    expect([null, [], 'x', 1, undefined].map(isObject)).toEqual([false, false, false, false, false]);
  });

  it('toError keeps an Error and wraps anything else', () => {
    const e = new TypeError('t');
    expect(toError(e)).toBe(e);
    expect(toError('oops')).toMatchObject({ name: 'Error', message: 'oops' });
  });

  it('MAX_TIMER_MS is the largest delay a timer honours', () => {
    expect(MAX_TIMER_MS).toBe(2_147_483_647);
  });
});
