import { createPublicKey, type KeyObject, webcrypto } from 'node:crypto';
import {
  createRemoteJWKSet,
  importJWK,
  type JWK,
  type JWTPayload,
  type JWTVerifyGetKey,
  jwtVerify,
} from 'jose';
import type { z } from 'zod';
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
      'WSG_CONFIG_INVALID_JWT',
      'auth.jwt needs exactly one of secret, publicKey, jwksUrl',
    );
  if (secret !== undefined) {
    const bytes = typeof secret === 'string' ? new TextEncoder().encode(secret) : secret;
    if (bytes.length < 32)
      throw new WsgConfigError('WSG_CONFIG_INVALID_JWT', 'auth.jwt.secret must be at least 32 bytes');
    return { key: hmacKeys(bytes), algorithms: options.algorithms ?? ['HS256'] };
  }
  if (publicKey !== undefined) {
    const algorithms = options.algorithms ?? ['RS256'];
    if (algorithms.some((a) => a.startsWith('HS'))) {
      // An HMAC algorithm next to a public key is the classic algorithm-confusion hole.
      throw new WsgConfigError(
        'WSG_CONFIG_INVALID_JWT',
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

const HMAC_HASH: ReadonlyMap<string, string> = new Map([
  ['HS256', 'SHA-256'],
  ['HS384', 'SHA-384'],
  ['HS512', 'SHA-512'],
]);

/**
 * The secret as one WebCrypto key per HMAC algorithm, imported on first use and kept: given the
 * raw bytes, jose imports them again for every token, a third of a verify's CPU. jose has
 * already refused an `alg` outside `algorithms` when it asks; any other `alg` gets the bytes,
 * and jose refuses them as before.
 */
function hmacKeys(secret: Uint8Array): JWTVerifyGetKey {
  const imported = new Map<string, Promise<CryptoKey>>();
  return ({ alg }) => {
    const hash = alg === undefined ? undefined : HMAC_HASH.get(alg);
    if (alg === undefined || hash === undefined) return secret;
    let key = imported.get(alg);
    if (key === undefined) {
      key = webcrypto.subtle.importKey('raw', secret, { name: 'HMAC', hash }, false, ['verify']);
      imported.set(alg, key);
    }
    return key;
  };
}

/** Registered JWT claims (RFC 7519), kept next to what a claims schema returns. */
export interface RegisteredClaims {
  iss?: string;
  sub?: string;
  aud?: string | string[];
  exp?: number;
  nbf?: number;
  iat?: number;
  jti?: string;
}

/**
 * A token check from JWT options, with the accepted algorithms pinned so that `alg: none`
 * and HS/RS confusion fail. Resolves to null for any token it refuses. With `claims` (a Zod
 * schema), a token whose claims fail it is refused, and `user.claims` is typed by it.
 */
export function createJwtVerifier<C extends object = Record<string, unknown>>(
  options: JwtOptions & { claims?: z.ZodType<C> },
): (token: string) => Promise<Principal<C & RegisteredClaims> | null> {
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
    let claims = payload as C & RegisteredClaims;
    if (options.claims) {
      const parsed = await options.claims.safeParseAsync(payload);
      if (!parsed.success) return null;
      // The registered claims stay: revocation reads `iat`, whatever the schema keeps.
      claims = { ...payload, ...parsed.data } as C & RegisteredClaims;
    }
    const principal: Principal<C & RegisteredClaims> = { id, claims };
    if (typeof payload.exp === 'number') principal.expiresAt = payload.exp * 1000;
    if (typeof payload.jti === 'string') principal.jti = payload.jti;
    return principal;
  };
}
