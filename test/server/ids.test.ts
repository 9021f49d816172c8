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

describe('randomId', () => {
  it('has the asked entropy as base64url, and no two ids share bytes, across refills of the pool', () => {
    const seen = new Set<string>();
    const chunks = new Set<string>();
    // 3 x 1,000 ids of 9, 16 and 32 bytes: 57 KB, many times the 4 KiB pool.
    for (let i = 0; i < 1000; i++) {
      for (const n of [9, 16, 32]) {
        const id = randomId(n);
        expect(id).toMatch(/^[A-Za-z0-9_-]+$/);
        const raw = Buffer.from(id, 'base64url');
        expect(raw.length).toBe(n);
        expect(seen.has(id)).toBe(false);
        seen.add(id);
        // Every 8-byte window is new: bytes handed out once are never handed out again.
        for (let at = 0; at + 8 <= n; at += 8) {
          const w = raw.subarray(at, at + 8).toString('hex');
          expect(chunks.has(w)).toBe(false);
          chunks.add(w);
        }
      }
    }
  });

  it('takes large ids straight from the CSPRNG, and the default is 16 bytes', () => {
    expect(Buffer.from(randomId(1024), 'base64url').length).toBe(1024);
    expect(Buffer.from(randomId(), 'base64url').length).toBe(16);
  });
});
