import { describe, expect, it } from 'vitest';
import { readJwtExpiry } from '../../src/client/index.js';
import { signToken } from '../helpers/server.js';

const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');

describe('readJwtExpiry', () => {
  it('reads exp (ms) from a real signed JWT without verifying it', async () => {
    const exp = Math.floor(Date.now() / 1000) + 600;
    expect(readJwtExpiry(await signToken('u', { exp }))).toBe(exp * 1000);
    expect(readJwtExpiry(`${b64({ alg: 'none' })}.${b64({ exp: 10, name: 'Zoë ✓' })}.`)).toBe(10_000);
  });

  it('answers undefined for anything else, never throws', () => {
    for (const token of [
      'opaque',
      'a.b',
      'a.b.c.d',
      `x.${b64({ sub: 'no exp' })}.y`,
      `x.${b64({ exp: 'soon' })}.y`,
      `x.${b64({ exp: -1 })}.y`,
      `x.${b64([1, 2])}.y`,
      'x.!!!.y',
      `x.${Buffer.from('not json').toString('base64url')}.y`,
      `x.${Buffer.from([0xff, 0xfe]).toString('base64url')}.y`,
      `x.${'A'.repeat(9000)}.y`,
    ]) {
      expect(readJwtExpiry(token), token.slice(0, 40)).toBeUndefined();
    }
  });
});
