import type { Bucket } from '../connection/state.js';
import type { BucketSpec } from '../stores/types.js';

export type { Bucket };

/** A token bucket's rate: the one shape for every rate option (limits.messages, .bytes, .user, .types). */
export interface BucketRate {
  /** Tokens added per second. */
  rate: number;
  /** Most tokens the bucket holds. */
  burst: number;
}

/**
 * Takes `cost` tokens if there are enough. Returns 0 when taken, else the ms until there
 * will be. Refused takes do not consume, so a client that waits the returned time succeeds.
 *
 * Written here instead of rate-limiter-flexible's RateLimiterMemory for the per-socket
 * buckets: the state lives on the socket object (no key lookup, no promise, no timer). Measured
 * side by side on a 2-core machine: about 50 ns per message (clock read included) against about
 * 350 ns for an awaited RateLimiterMemory.consume, some 7x.
 */
export function take(bucket: Bucket, spec: BucketRate, cost: number, now: number): number {
  return takeTokens(bucket, spec.burst, spec.rate, cost, now);
}

/** take() with the bucket's size and rate as numbers (the memory store's `BucketSpec` path). */
export function takeTokens(
  bucket: Bucket,
  burst: number,
  ratePerSec: number,
  cost: number,
  now: number,
): number {
  const elapsed = now - bucket.at;
  if (elapsed > 0) {
    bucket.tokens = Math.min(burst, bucket.tokens + (elapsed * ratePerSec) / 1000);
    bucket.at = now;
  }
  if (bucket.tokens >= cost) {
    bucket.tokens -= cost;
    return 0;
  }
  return Math.ceil(((cost - bucket.tokens) * 1000) / ratePerSec);
}

/**
 * The store's form of a rate (`LimitStore.take` takes a `BucketSpec`, a shape custom stores
 * implement): made once at setup, never per message.
 */
export function toBucketSpec(r: BucketRate): BucketSpec {
  return { capacity: r.burst, refillPerSec: r.rate };
}

export function fullBucket(spec: BucketRate, now: number): Bucket {
  return { tokens: spec.burst, at: now };
}
