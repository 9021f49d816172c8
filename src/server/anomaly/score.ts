import type { Score } from '../connection/state.js';

export type { Score };

export function decayed(score: Score, now: number, halfLifeMs: number): number {
  const dt = now - score.at;
  return dt <= 0 ? score.value : score.value * 0.5 ** (dt / halfLifeMs);
}

/** A crossed threshold re-arms only once the score has decayed below this share of it. */
export const REARM_RATIO = 0.5;

/** The highest index i with thresholds[i] <= value (thresholds ascending), or -1. */
export function levelOf(value: number, thresholds: readonly number[]): number {
  let level = -1;
  for (let i = 0; i < thresholds.length; i++) if (value >= (thresholds[i] as number)) level = i;
  return level;
}

/**
 * Adds `weight` at `now` and returns the threshold indexes crossed upwards by this signal,
 * each once. A level re-arms only after the score decays below half of it: without that
 * margin, the decay between two quick signals dips just under a threshold and fires it again.
 */
export function addSignal(
  score: Score,
  weight: number,
  now: number,
  halfLifeMs: number,
  thresholds: readonly number[],
): readonly number[] {
  const before = decayed(score, now, halfLifeMs);
  while (score.level >= 0 && before < (thresholds[score.level] as number) * REARM_RATIO) score.level--;
  score.value = before + weight;
  score.at = now;
  const after = levelOf(score.value, thresholds);
  if (after <= score.level) return NO_LEVELS;
  const crossed: number[] = [];
  for (let i = score.level + 1; i <= after; i++) crossed.push(i);
  if (after > score.level) score.level = after;
  return crossed;
}

/** What addSignal returns when no threshold was crossed (shared, so the common case allocates nothing). */
export const NO_LEVELS: readonly number[] = Object.freeze([]);

export function newScore(now: number): Score {
  return { value: 0, at: now, level: -1 };
}
