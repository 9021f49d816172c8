import { describe, expect, it } from 'vitest';
import { createBoundedMap } from '../../src/server/bounded-map.js';

describe('bounded map', () => {
  it('drops the least recently written entry past the cap', () => {
    const m = createBoundedMap<number>(3, () => 0);
    m.set('a', 1, 10);
    m.set('b', 2, 10);
    m.set('c', 3, 10);
    m.set('a', 4, 10); // a is now the most recently written
    m.set('d', 5, 10); // so b goes
    expect([m.get('a'), m.get('b'), m.get('c'), m.get('d')]).toEqual([4, undefined, 3, 5]);
    expect(m.size).toBe(3);
  });

  it('keeps the order when the last written key is written again', () => {
    const m = createBoundedMap<number>(2, () => 0);
    m.set('a', 1, 10);
    m.set('b', 2, 10);
    m.set('b', 3, 10);
    m.set('b', 4, 10);
    m.set('c', 5, 10); // a is the oldest written
    expect([m.get('a'), m.get('b'), m.get('c')]).toEqual([undefined, 4, 5]);
  });

  it('writes again a key deleted while it was the last written', () => {
    const m = createBoundedMap<number>(2, () => 0);
    m.set('a', 1, 10);
    m.set('b', 2, 10);
    m.delete('b');
    m.set('b', 3, 10);
    m.set('c', 4, 10);
    expect([m.get('a'), m.get('b'), m.get('c')]).toEqual([undefined, 3, 4]);
  });

  it('misses and drops expired entries, and a rewrite renews the expiry', () => {
    let t = 0;
    const m = createBoundedMap<number>(10, () => t);
    m.set('a', 1, 5);
    m.set('b', 2, 5);
    m.set('b', 3, 20);
    t = 6;
    expect(m.get('a')).toBeUndefined();
    expect(m.get('b')).toBe(3);
    expect(m.size).toBe(1);
    t = 30;
    m.sweep();
    expect(m.size).toBe(0);
  });

  it('touch: a live entry renewed and moved last in one lookup, an expired or missing one undefined', () => {
    let t = 0;
    const m = createBoundedMap<{ n: number }>(2, () => t);
    const a = { n: 1 };
    m.set('a', a, 10);
    m.set('b', { n: 2 }, 10);
    expect(m.touch('a', t, 50)).toBe(a); // renewed, and now the most recently written
    m.set('c', { n: 3 }, 50); // so b is the one dropped at the cap
    expect(m.get('b')).toBeUndefined();
    t = 20;
    expect(m.get('a')).toBe(a); // the renewed expiry holds past the old one
    expect(m.touch('missing', t, 60)).toBeUndefined();
    expect(m.size).toBe(2);
    expect(m.touch('a', 50, 90)).toBeUndefined(); // expired at the caller's time: dropped
    expect(m.size).toBe(1);
  });

  it('touch then set on a miss decides as get then set did', () => {
    const viaGet = createBoundedMap<number>(3, () => 0);
    const viaTouch = createBoundedMap<number>(3, () => 0);
    const keys = ['a', 'b', 'a', 'c', 'd', 'b', 'e', 'a', 'a', 'f'];
    for (const k of keys) {
      viaGet.set(k, (viaGet.get(k) ?? 0) + 1, 100);
      const v = viaTouch.touch(k, 0, 100);
      if (v === undefined) viaTouch.set(k, 1, 100);
      else viaTouch.set(k, v + 1, 100);
    }
    for (const k of ['a', 'b', 'c', 'd', 'e', 'f']) expect(viaTouch.get(k)).toBe(viaGet.get(k));
  });
});
