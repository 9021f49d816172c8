export interface BackoffOptions {
  /** Floor: no reconnect sooner than this. */
  minDelayMs: number;
  /** Cap: no wait longer than this. */
  maxDelayMs: number;
  /** Growth of the upper bound per attempt. */
  factor: number;
}

/**
 * Full-jitter exponential backoff with a floor: attempt n (from 0) waits a uniformly random
 * time in [floor, min(cap, floor * factor^(n+1))]. The randomness spreads a crowd of clients
 * that lost the same server, so they do not all come back in the same millisecond.
 */
export function backoffDelay(attempt: number, options: BackoffOptions, random: () => number): number {
  const { minDelayMs, maxDelayMs, factor } = options;
  const exp = Math.min(Math.max(attempt, 0) + 1, 64);
  const ceiling = Math.min(maxDelayMs, minDelayMs * factor ** exp);
  const r = Math.min(Math.max(random(), 0), 1);
  return Math.round(minDelayMs + r * Math.max(0, ceiling - minDelayMs));
}

/** Checks backoff options; a bad value is a programming error, reported at construction. */
export function checkBackoff(options: BackoffOptions): void {
  const { minDelayMs, maxDelayMs, factor } = options;
  if (!(Number.isFinite(minDelayMs) && minDelayMs >= 0)) {
    throw new TypeError(`reconnect.minDelayMs must be a number >= 0, got ${minDelayMs}`);
  }
  if (!(Number.isFinite(maxDelayMs) && maxDelayMs >= minDelayMs)) {
    throw new TypeError(`reconnect.maxDelayMs must be >= minDelayMs, got ${maxDelayMs}`);
  }
  if (!(Number.isFinite(factor) && factor >= 1)) {
    throw new TypeError(`reconnect.factor must be a number >= 1, got ${factor}`);
  }
}
