import { createHash } from 'node:crypto';
import type { Principal } from '../connection/state.js';
import { WsgConfigError } from '../errors.js';
import type { AuthOptions, VerifyToken } from '../options.js';
import type { UpgradeRequest } from '../socket.js';
import { createJwtVerifier } from './jwt.js';

export type TokenVerifier = (token: string, req: UpgradeRequest) => Promise<Principal | null>;

const MAX_TOKEN_LENGTH = 8192;

/**
 * The string as one flat sequence: a concatenation is kept as its two parts plus a node joining
 * them (32 bytes more per socket that holds it). `s` is ASCII (a base64url digest).
 */
function flat(s: string): string {
  return Buffer.from(s, 'latin1').toString('latin1');
}

/** One token check from the auth options; it never throws, a refusal is null. */
export function createTokenVerifier(auth: AuthOptions | undefined): TokenVerifier {
  if (!auth || (!auth.verify && !auth.jwt)) {
    throw new WsgConfigError(
      'WSG_CONFIG_NO_AUTH',
      'options.auth needs `jwt` or `verify`: every connection is authenticated',
    );
  }
  // Typed claims are the app's view; the core reads them as a plain record.
  const check = (auth.verify ??
    createJwtVerifier(auth.jwt as NonNullable<AuthOptions['jwt']>)) as VerifyToken;
  // jose already checked a JWT's exp (with clockTolerance); a custom verify may not have.
  const checkExpiry = auth.verify !== undefined;
  return async (token, req) => {
    if (typeof token !== 'string' || token.length === 0 || token.length > MAX_TOKEN_LENGTH) return null;
    try {
      const principal = await check(token, req);
      if (!principal || typeof principal.id !== 'string' || principal.id.length === 0) return null;
      if (checkExpiry && principal.expiresAt !== undefined && principal.expiresAt <= Date.now()) return null;
      // A copy: the app's verify() may hand back an object it keeps.
      const tokenId =
        principal.jti ?? flat(`sha256:${createHash('sha256').update(token).digest('base64url')}`);
      // Kept on the socket for its whole life. A spread gives every copy a hidden class of its
      // own (some 200 bytes per socket); Object.assign onto {} shares one. The spread stays for
      // an own `__proto__` key, which assign would turn into a prototype.
      if (Object.hasOwn(principal, '__proto__')) return { ...principal, tokenId };
      const copy: Principal = Object.assign({}, principal);
      copy.tokenId = tokenId;
      return copy;
    } catch {
      return null;
    }
  };
}
