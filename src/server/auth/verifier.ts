import { createHash } from 'node:crypto';
import type { Principal } from '../connection/state.js';
import { WsgConfigError } from '../errors.js';
import type { AuthOptions, VerifyToken } from '../options.js';
import type { UpgradeRequest } from '../socket.js';
import { createJwtVerifier } from './jwt.js';

export type TokenVerifier = (token: string, req: UpgradeRequest) => Promise<Principal | null>;

const MAX_TOKEN_LENGTH = 8192;

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
      const tokenId = principal.jti ?? `sha256:${createHash('sha256').update(token).digest('base64url')}`;
      return { ...principal, tokenId };
    } catch {
      return null;
    }
  };
}
