import { createPublicKey, type KeyObject } from 'node:crypto';
import {
  createRemoteJWKSet,
  importJWK,
  type JWK,
  type JWTPayload,
  type JWTVerifyGetKey,
  jwtVerify,
} from 'jose';
import type { Principal } from '../connection/state.js';
import { DEFAULTS } from '../defaults.js';
import { WsgConfigError } from '../errors.js';
import type { JwtOptions } from '../options.js';

type Key = Uint8Array | KeyObject | JWTVerifyGetKey;

function keyFrom(options: JwtOptions): { key: Key | Promise<Key>; algorithms: string[] } {
  const { secret, publicKey, jwksUrl } = options;
  const given = [secret, publicKey, jwksUrl].filter((k) => k !== undefined).length;
  if (given !== 1)
    throw new WsgConfigError(
      'ERR_WSG_CONFIG_INVALID_JWT',
      'auth.jwt needs exactly one of secret, publicKey, jwksUrl',
    );
  if (secret !== undefined) {
    const bytes = typeof secret === 'string' ? new TextEncoder().encode(secret) : secret;
    if (bytes.length < 32)
      throw new WsgConfigError('ERR_WSG_CONFIG_INVALID_JWT', 'auth.jwt.secret must be at least 32 bytes');
    return { key: bytes, algorithms: options.algorithms ?? ['HS256'] };
  }
  if (publicKey !== undefined) {
    const algorithms = options.algorithms ?? ['RS256'];
    if (algorithms.some((a) => a.startsWith('HS'))) {
      // An HMAC algorithm next to a public key is the classic algorithm-confusion hole.
      throw new WsgConfigError(
        'ERR_WSG_CONFIG_INVALID_JWT',
        'auth.jwt.algorithms cannot mix HS* with a public key',
      );
    }
    if (typeof publicKey === 'string') return { key: createPublicKey(publicKey), algorithms };
    if ('kty' in publicKey) {
      return { key: importJWK(publicKey as JWK, algorithms[0]) as Promise<Key>, algorithms };
    }
    return { key: publicKey as KeyObject, algorithms };
  }
  const url = jwksUrl instanceof URL ? jwksUrl : new URL(String(jwksUrl));
  return { key: createRemoteJWKSet(url), algorithms: options.algorithms ?? ['RS256', 'ES256', 'EdDSA'] };
}

/**
 * A token check from JWT options, with the accepted algorithms pinned so that `alg: none`
 * and HS/RS confusion fail. Resolves to null for any token it refuses.
 */
export function createJwtVerifier(options: JwtOptions): (token: string) => Promise<Principal | null> {
  const { key, algorithms } = keyFrom(options);
  const subjectClaim = options.subjectClaim ?? DEFAULTS.jwt.subjectClaim;
  const requireExp = options.requireExp ?? DEFAULTS.jwt.requireExp;
  const verifyOptions = {
    algorithms,
    clockTolerance: options.clockTolerance ?? DEFAULTS.jwt.clockTolerance,
    ...(options.issuer !== undefined ? { issuer: options.issuer } : {}),
    ...(options.audience !== undefined ? { audience: options.audience } : {}),
    ...(requireExp ? { requiredClaims: ['exp'] } : {}),
  };
  return async (token) => {
    let payload: JWTPayload;
    try {
      const k = await key;
      payload =
        typeof k === 'function'
          ? (await jwtVerify(token, k, verifyOptions)).payload
          : (await jwtVerify(token, k, verifyOptions)).payload;
    } catch {
      return null;
    }
    const id = payload[subjectClaim];
    if (typeof id !== 'string' || id.length === 0 || id.length > 256) return null;
    const principal: Principal = { id, claims: payload as Record<string, unknown> };
    if (typeof payload.exp === 'number') principal.expiresAt = payload.exp * 1000;
    if (typeof payload.jti === 'string') principal.jti = payload.jti;
    return principal;
  };
}
