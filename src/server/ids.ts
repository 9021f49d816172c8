import { randomBytes, timingSafeEqual } from 'node:crypto';

/** A random url-safe id of `bytes` bytes of entropy (default 16 = 128 bits). */
export function randomId(bytes = 16): string {
  return randomBytes(bytes).toString('base64url');
}

/** Constant-time string equality; unequal lengths are unequal without a timing hint on content. */
export function safeEqual(a: string, b: string): boolean {
  const ab = Buffer.from(a);
  const bb = Buffer.from(b);
  if (ab.length !== bb.length) {
    timingSafeEqual(bb, bb);
    return false;
  }
  return timingSafeEqual(ab, bb);
}
