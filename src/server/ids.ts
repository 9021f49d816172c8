import { randomBytes } from 'node:crypto';

/** A random url-safe id of `bytes` bytes of entropy (default 16 = 128 bits). */
export function randomId(bytes = 16): string {
  return randomBytes(bytes).toString('base64url');
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
