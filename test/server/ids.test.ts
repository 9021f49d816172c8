import { describe, expect, it, vi } from 'vitest';
import { randomId, safeEqual } from '../../src/server/ids.js';

/** What ids.ts asked of node:crypto: a copy of every pool fill, and how many randomBytes calls. */
const cryptoCalls = vi.hoisted(() => ({ fills: [] as Buffer[], randomBytes: 0 }));
vi.mock('node:crypto', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:crypto')>();
  return {
    ...real,
    randomFillSync: <T extends NodeJS.ArrayBufferView>(buf: T): T => {
      real.randomFillSync(buf);
      cryptoCalls.fills.push(Buffer.from(Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength)));
      return buf;
    },
    randomBytes: (n: number) => {
      cryptoCalls.randomBytes++;
      return real.randomBytes(n);
    },
  };
});

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
  it('hands out each CSPRNG byte at most once, in order, across refills of the pool', () => {
    // The pool may be part-spent by the tests above: the first id continues the latest fill.
    const firstFill = Math.max(0, cryptoCalls.fills.length - 1);
    const ids: Buffer[] = [];
    // 3 x 1,000 ids of 9, 16 and 32 bytes: 57 KB, many times the 4 KiB pool.
    for (let i = 0; i < 1000; i++) {
      for (const n of [9, 16, 32]) {
        const id = randomId(n);
        expect(id).toMatch(/^[A-Za-z0-9_-]+$/);
        const raw = Buffer.from(id, 'base64url');
        expect(raw.length).toBe(n);
        ids.push(raw);
      }
    }
    // Every id is the next bytes of what the CSPRNG filled: from where the previous one ended, or
    // from the start of the next fill when it did not fit in what was left.
    let fill = firstFill;
    const started = cryptoCalls.fills[firstFill]?.indexOf(ids[0] as Buffer) ?? -1;
    let at = started === -1 ? Number.POSITIVE_INFINITY : started;
    for (const raw of ids) {
      let source = cryptoCalls.fills[fill];
      if (source === undefined || at + raw.length > source.length) {
        fill++;
        at = 0;
        source = cryptoCalls.fills[fill];
      }
      expect(source).toBeDefined();
      expect(raw.equals((source as Buffer).subarray(at, at + raw.length))).toBe(true);
      at += raw.length;
    }
    expect(fill).toBe(cryptoCalls.fills.length - 1);
    expect(fill - firstFill).toBeGreaterThan(10);
  });

  it('takes large and odd sizes straight from the CSPRNG; the default is 16 bytes', () => {
    const before = cryptoCalls.randomBytes;
    expect(Buffer.from(randomId(1024), 'base64url').length).toBe(1024);
    expect(cryptoCalls.randomBytes).toBe(before + 1);
    expect(() => randomId(Number.NaN)).toThrow();
    expect(() => randomId(-5)).toThrow();
    expect(Buffer.from(randomId(), 'base64url').length).toBe(16);
  });
});
