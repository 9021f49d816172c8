import { randomBytes, randomFillSync } from 'node:crypto';

/**
 * CSPRNG bytes taken 4 KiB at a time and each handed out once: a call into the CSPRNG per id
 * cost more than the rest of opening a session (a connection takes three ids). Node's
 * randomUUID keeps a batch the same way.
 */
const POOL_BYTES = 4096;
const pool = Buffer.allocUnsafeSlow(POOL_BYTES);
let taken = POOL_BYTES;

/** A random url-safe id of `bytes` bytes of entropy (default 16 = 128 bits). */
export function randomId(bytes = 16): string {
  // Anything but a small whole number goes to randomBytes, which refuses what is not a size.
  if (!Number.isInteger(bytes) || bytes < 1 || bytes > 256) return randomBytes(bytes).toString('base64url');
  if (taken + bytes > POOL_BYTES) {
    randomFillSync(pool);
    taken = 0;
  }
  const id = pool.toString('base64url', taken, taken + bytes);
  taken += bytes;
  return id;
}

/**
 * Constant-time string equality; unequal lengths are unequal without a timing hint on content.
 * Compares UTF-16 code units in place (equal strings iff equal units), touching every unit of
 * `b` whatever the content, so a check per message allocates nothing.
 */
export function safeEqual(a: string, b: string): boolean {
  const n = b.length;
  let diff = a.length ^ n;
  // Past the end of a shorter `a`, charCodeAt is NaN, which `^` reads as 0: lengths already differ.
  for (let i = 0; i < n; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}
