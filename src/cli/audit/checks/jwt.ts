import type { AuditContext } from '../context.js';
import { SkipError } from '../net.js';
import { hs256 } from '../signer.js';
import { jwtClaims, tamperedExpiredToken } from '../tokens.js';
import type { CheckDef, Outcome } from '../types.js';
import { tryToken } from './authentication.js';

type Check = CheckDef<AuditContext>;

const now = () => Math.floor(Date.now() / 1000);
const NEEDS_KEY = 'needs the key the server verifies with: pass --secret (HS256) or --private-key (PEM)';

/** The claims of --token without its times: each check adds its own. */
export function baseClaims(ctx: AuditContext): Record<string, unknown> {
  const { iat: _i, exp: _e, nbf: _n, ...rest } = jwtClaims(ctx.token) ?? { sub: 'wsguard-audit-user' };
  return rest;
}

const CONTROL = 'jwt.control';

/**
 * Signs the claims of --token afresh and offers them once: when the server refuses even that,
 * the key (or a claim the server needs) is wrong, and no refusal below would mean anything.
 */
export async function signer(ctx: AuditContext) {
  const s = ctx.signer;
  if (!s) throw new SkipError(NEEDS_KEY);
  let accepted = ctx.memo.get(CONTROL) as boolean | undefined;
  if (accepted === undefined) {
    const token = s.sign({ ...baseClaims(ctx), iat: now(), exp: now() + 600 });
    accepted = (await tryToken(ctx, token, 'a freshly signed token')).result === 'fail';
    ctx.memo.set(CONTROL, accepted);
  }
  if (!accepted)
    throw new SkipError(
      `the server refused a valid token signed with ${s.source} (${s.alg}): wrong key, or a claim it needs is missing from --token`,
    );
  return s;
}

function jwtCheck(
  def: Omit<Check, 'run' | 'category'>,
  token: (ctx: AuditContext, s: NonNullable<AuditContext['signer']>) => string | undefined,
  label: string,
): Check {
  return {
    ...def,
    category: 'authentication',
    async run(ctx): Promise<Outcome> {
      const s = await signer(ctx);
      const t = token(ctx, s);
      if (t === undefined) throw new SkipError(`${label}: not applicable to this token`);
      return tryToken(ctx, t, label);
    },
  };
}

export const expired = jwtCheck(
  {
    id: 'auth.expired-token',
    title: 'An expired (correctly signed) JWT accepted',
    severity: 'high',
    cwe: 'CWE-613',
    remediation: 'Require and check `exp` (wsguard: `requireExp`, on by default).',
    plan: 'authenticates with the claims of --token, signed with --secret / --private-key, `exp` an hour in the past',
  },
  (ctx, s) => s.sign({ ...baseClaims(ctx), iat: now() - 7200, exp: now() - 3600 }),
  'a signed JWT that expired an hour ago',
);

export const missingExp = jwtCheck(
  {
    id: 'auth.missing-exp',
    title: 'A JWT without `exp` accepted (a token valid forever)',
    severity: 'medium',
    cwe: 'CWE-613',
    remediation: 'Refuse tokens without `exp` (wsguard: `requireExp: true`, the default).',
    plan: 'authenticates with the claims of --token, signed, without `exp`',
  },
  (ctx, s) => s.sign({ ...baseClaims(ctx), iat: now() }),
  'a signed JWT without exp',
);

const other = (v: unknown) => (typeof v === 'string' ? `${v}.wsguard-audit.invalid` : undefined);

export const wrongAudience = jwtCheck(
  {
    id: 'auth.wrong-audience',
    title: 'A JWT for another audience accepted',
    severity: 'medium',
    cwe: 'CWE-287',
    remediation: 'Verify `aud` against this service (wsguard: `jwt.audience`).',
    plan: 'authenticates with the claims of --token, signed, `aud` changed (skipped when --token has no `aud`)',
  },
  (ctx, s) => {
    const aud = other(baseClaims(ctx).aud);
    return aud ? s.sign({ ...baseClaims(ctx), aud, iat: now(), exp: now() + 600 }) : undefined;
  },
  'a signed JWT for another audience',
);

export const wrongIssuer = jwtCheck(
  {
    id: 'auth.wrong-issuer',
    title: 'A JWT from another issuer accepted',
    severity: 'medium',
    cwe: 'CWE-287',
    remediation: 'Verify `iss` against the issuers you trust (wsguard: `jwt.issuer`).',
    plan: 'authenticates with the claims of --token, signed, `iss` changed (skipped when --token has no `iss`)',
  },
  (ctx, s) => {
    const iss = other(baseClaims(ctx).iss);
    return iss ? s.sign({ ...baseClaims(ctx), iss, iat: now(), exp: now() + 600 }) : undefined;
  },
  'a signed JWT from another issuer',
);

export const algConfusion = jwtCheck(
  {
    id: 'auth.alg-confusion',
    title: 'A JWT signed HS256 with the public key accepted (algorithm confusion)',
    severity: 'critical',
    cwe: 'CWE-347',
    remediation:
      'Pin the algorithm per key; never let the token header choose HMAC for an asymmetric key (wsguard pins it).',
    plan: 'authenticates with the claims of --token, HS256 with the public key of --private-key as the HMAC secret (needs --private-key)',
  },
  (ctx, s) =>
    s.publicPem === undefined
      ? undefined
      : hs256({ ...baseClaims(ctx), iat: now(), exp: now() + 600 }, s.publicPem),
  'an HS256 JWT keyed with the public key',
);

export const kidInjection: Check = {
  id: 'auth.kid-injection',
  title: 'A JWT with a path or SQL `kid` accepted',
  category: 'authentication',
  severity: 'critical',
  cwe: 'CWE-347',
  remediation:
    'Look `kid` up in a fixed key set; never use it as a file path, a query or a URL (wsguard: a JWKS map by `kid`).',
  plan: 'authenticates with two HS256 tokens: kid ../../../../../../dev/null signed with an empty key, and kid `x\' UNION SELECT \'a` signed with "a"',
  async run(ctx) {
    await signer(ctx).catch((err: unknown) => {
      // The kid tricks need no key of the server's; only the control token's verdict is reused.
      if (!(err instanceof SkipError) || ctx.signer) throw err;
    });
    const claims = { ...baseClaims(ctx), iat: now(), exp: now() + 600 };
    const outcomes = [
      await tryToken(
        ctx,
        hs256(claims, '', { kid: '../../../../../../dev/null' }),
        'kid=/dev/null, empty key',
      ),
      await tryToken(ctx, hs256(claims, 'a', { kid: "x' UNION SELECT 'a" }), 'kid=SQL, key "a"'),
    ];
    return outcomes.find((o) => o.result !== 'pass') ?? outcomes[0] ?? { result: 'pass', detail: 'refused' };
  },
};

export const tampered: Check = {
  id: 'auth.tampered-token',
  title: 'A JWT with changed claims and the old signature accepted',
  category: 'authentication',
  severity: 'critical',
  cwe: 'CWE-347',
  remediation: 'Verify the signature over the exact claims received, with a pinned algorithm.',
  plan: 'authenticates with --token re-encoded with other times (signature kept)',
  async run(ctx) {
    if (!jwtClaims(ctx.token)) throw new SkipError('--token is not a JWT');
    return tryToken(ctx, tamperedExpiredToken(ctx.token), 'a JWT with changed claims');
  },
};

export const jwtChecks: Check[] = [
  tampered,
  expired,
  missingExp,
  wrongAudience,
  wrongIssuer,
  algConfusion,
  kidInjection,
];
