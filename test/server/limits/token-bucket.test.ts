import { describe, expect, it } from 'vitest';
import { fullBucket, take } from '../../../src/server/limits/token-bucket.js';

describe('token bucket', () => {
  const spec = { rate: 10, burst: 5 };
  it('allows the burst at once, then refuses with the wait for the next token', () => {
    const b = fullBucket(spec, 0);
    for (let i = 0; i < 5; i++) expect(take(b, spec, 1, 0)).toBe(0);
    expect(take(b, spec, 1, 0)).toBe(100);
    expect(take(b, spec, 1, 50)).toBe(50);
    expect(take(b, spec, 1, 100)).toBe(0);
  });
  it('refills at the rate, never above the burst', () => {
    const b = fullBucket(spec, 0);
    for (let i = 0; i < 5; i++) take(b, spec, 1, 0);
    take(b, spec, 0, 10_000);
    expect(b.tokens).toBe(5);
  });
  it('a refused take consumes nothing, so waiting the returned time succeeds', () => {
    const b = fullBucket(spec, 0);
    take(b, spec, 5, 0);
    const wait = take(b, spec, 3, 0);
    expect(wait).toBe(300);
    expect(take(b, spec, 3, wait)).toBe(0);
  });
  it('costs more than one token', () => {
    const b = fullBucket(spec, 0);
    expect(take(b, spec, 4, 0)).toBe(0);
    expect(take(b, spec, 4, 0)).toBe(300);
  });
});
