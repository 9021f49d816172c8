// Crafted tokens a server must refuse. None of them is signed with a real key: the audit never
// learns a secret, so every token here is forged by construction.

const b64url = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

/** The claims of a JWT, or undefined when `token` is not one. */
export function jwtClaims(token: string): Record<string, unknown> | undefined {
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  try {
    const claims: unknown = JSON.parse(Buffer.from(parts[1] ?? '', 'base64url').toString('utf8'));
    return claims !== null && typeof claims === 'object' ? (claims as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

const now = () => Math.floor(Date.now() / 1000);

/** An unsigned JWT (`alg: none`) for `sub`, valid for an hour by its claims. */
export function algNoneToken(sub: string): string {
  return `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url({ sub, iat: now(), exp: now() + 3600 })}.`;
}

/**
 * A token that expired an hour ago: the given JWT's claims with `exp` in the past and the
 * original signature (so also tampered), or an HS256-looking token when `token` is not a JWT.
 */
export function tamperedExpiredToken(token: string): string {
  const claims = jwtClaims(token) ?? { sub: 'audit-user' };
  const signature = token.split('.').length === 3 ? (token.split('.')[2] ?? '') : b64url('sig');
  return `${b64url({ alg: 'HS256', typ: 'JWT' })}.${b64url({ ...claims, iat: now() - 7200, exp: now() - 3600 })}.${signature}`;
}

/** The subject the audit's forged tokens claim (a user the auditor is not). */
export const FORGED_SUBJECT = 'wsguard-audit-admin';
