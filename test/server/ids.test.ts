import { describe, expect, it } from 'vitest';
import { randomId, safeEqual } from '../../src/server/ids.js';

describe('safeEqual', () => {
  it('is true for equal strings only', () => {
    const token = randomId(32);
    expect(safeEqual(token, `${token}`)).toBe(true);
    expect(safeEqual('', '')).toBe(true);
    expect(safeEqual('é€😀', 'é€😀')).toBe(true);
  });

  it('is false for one differing unit anywhere, at equal length', () => {
    const token = 'c'.repeat(43);
    for (const at of [0, 21, 42]) {
      const other = `${token.slice(0, at)}d${token.slice(at + 1)}`;
      expect(other.length).toBe(token.length);
      expect(safeEqual(other, token)).toBe(false);
    }
    // Different lone surrogates are different strings (a UTF-8 encoding would make both U+FFFD).
    expect(safeEqual('\uD800', '\uDBFF')).toBe(false);
  });

  it('is false for a different length: a prefix, a longer string, empty', () => {
    const token = randomId(32);
    expect(safeEqual(token.slice(0, -1), token)).toBe(false);
    expect(safeEqual(`${token}x`, token)).toBe(false);
    expect(safeEqual('', token)).toBe(false);
    expect(safeEqual(token, '')).toBe(false);
    // NaN past the end of the shorter string must not hide the length difference.
    expect(safeEqual('a', 'a\u0000')).toBe(false);
  });
});
