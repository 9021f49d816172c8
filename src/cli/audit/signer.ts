import { createHmac, createPrivateKey, createPublicKey, type KeyObject, sign } from 'node:crypto';
import { readFileSync } from 'node:fs';

const b64url = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

/** Signs JWTs with the key the server trusts (--secret or --private-key), for the deep JWT checks. */
export interface Signer {
  alg: 'HS256' | 'RS256' | 'ES256' | 'EdDSA';
  /** What the user passed, for evidence lines. */
  source: '--secret' | '--private-key';
  sign(claims: Record<string, unknown>, header?: Record<string, unknown>): string;
  /** The public key in PEM (only with --private-key): the algorithm-confusion check's HMAC key. */
  publicPem?: string;
}

/** HS256 over `header.claims` with any key bytes (also the empty key and a public key's PEM). */
export function hs256(
  claims: Record<string, unknown>,
  key: string | Buffer,
  header: Record<string, unknown> = {},
) {
  const input = `${b64url({ alg: 'HS256', typ: 'JWT', ...header })}.${b64url(claims)}`;
  return `${input}.${createHmac('sha256', key).update(input).digest('base64url')}`;
}

function asymmetric(key: KeyObject): Signer {
  const type = key.asymmetricKeyType;
  const alg = type === 'rsa' ? 'RS256' : type === 'ec' ? 'ES256' : type === 'ed25519' ? 'EdDSA' : undefined;
  if (!alg) throw new Error(`--private-key: unsupported key type ${String(type)} (RSA, EC P-256 or Ed25519)`);
  return {
    alg,
    source: '--private-key',
    publicPem: createPublicKey(key).export({ type: 'spki', format: 'pem' }).toString(),
    sign(claims, header = {}) {
      const input = `${b64url({ alg, typ: 'JWT', ...header })}.${b64url(claims)}`;
      const sig = sign(alg === 'EdDSA' ? null : 'sha256', Buffer.from(input), {
        key,
        ...(alg === 'ES256' ? { dsaEncoding: 'ieee-p1363' as const } : {}),
      });
      return `${input}.${sig.toString('base64url')}`;
    },
  };
}

/** The signer for the flags, or undefined when neither was given. Throws a readable error for a bad key. */
export function signerFrom(options: { secret?: string | undefined; privateKeyFile?: string | undefined }) {
  if (options.privateKeyFile !== undefined) {
    let pem: string;
    try {
      pem = readFileSync(options.privateKeyFile, 'utf8');
    } catch (err) {
      throw new Error(`--private-key: cannot read ${options.privateKeyFile} (${(err as Error).message})`);
    }
    try {
      return asymmetric(createPrivateKey(pem));
    } catch (err) {
      throw new Error(`--private-key: not a PEM private key (${(err as Error).message.split('\n')[0]})`);
    }
  }
  if (options.secret !== undefined) {
    const secret = options.secret;
    return {
      alg: 'HS256',
      source: '--secret',
      sign: (claims, header = {}) => hs256(claims, secret, header),
    } satisfies Signer;
  }
  return undefined;
}
