import { describe, expect, it } from 'vitest';
import { addSignal, decayed, levelOf, newScore } from '../../../src/server/anomaly/score.js';

const thresholds = [10, 25, 60];

describe('anomaly score', () => {
  it('halves every half-life', () => {
    const s = { value: 40, at: 0, level: -1 };
    expect(decayed(s, 1000, 1000)).toBe(20);
    expect(decayed(s, 3000, 1000)).toBe(5);
    expect(decayed(s, 500, 1000)).toBeCloseTo(40 / Math.SQRT2, 10);
  });

  it('fires each threshold exactly once per upward crossing', () => {
    const s = newScore(0);
    const fired: number[] = [];
    for (let i = 0; i < 20; i++) fired.push(...addSignal(s, 2, 0, 60_000, thresholds));
    expect(fired).toEqual([0, 1]);
    expect(s.value).toBe(40);
  });

  it('does not fire again when decay between quick signals dips just under a threshold', () => {
    const s = newScore(0);
    expect(addSignal(s, 10, 0, 60_000, thresholds)).toEqual([0]);
    // 1 ms later the score has decayed to 9.9999, just under warn: a small signal must not re-fire it
    expect(addSignal(s, 0.01, 1, 60_000, thresholds)).toEqual([]);
    expect(addSignal(s, 2, 2, 60_000, thresholds)).toEqual([]);
  });

  it('one big signal crosses several thresholds at once', () => {
    expect(addSignal(newScore(0), 70, 0, 1000, thresholds)).toEqual([0, 1, 2]);
  });

  it('decay lets a socket recover, and re-arms the thresholds it fell below', () => {
    const s = newScore(0);
    addSignal(s, 30, 0, 1000, thresholds);
    expect(s.level).toBe(1);
    // after 3 half-lives: 30 -> 3.75, below every threshold
    expect(addSignal(s, 1, 3000, 1000, thresholds)).toEqual([]);
    expect(s.level).toBe(-1);
    expect(addSignal(s, 10, 3000, 1000, thresholds)).toEqual([0]);
    expect(levelOf(9.99, thresholds)).toBe(-1);
  });
});
