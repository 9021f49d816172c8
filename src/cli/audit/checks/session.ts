import type { AuditContext } from '../context.js';
import { answer, describe, open, SkipError } from '../net.js';
import { algNoneToken, FORGED_SUBJECT } from '../tokens.js';
import type { CheckDef, Outcome } from '../types.js';

type Check = CheckDef<AuditContext>;

const authOkOf = (ctx: AuditContext) => {
  if (ctx.noAuth) throw new SkipError('the server has no authentication, so no session (auth.no-token)');
  if (!ctx.authOk) throw new SkipError('no auth_ok seen: not a wsguard-protocol server, or --token refused');
  return ctx.authOk;
};

/** Estimated bits of a random token from its length and the smallest charset that spells it. */
export function entropyBits(value: string): { bits: number; charset: string } {
  const sets: [string, RegExp, number][] = [
    ['digits', /^[0-9]+$/, 10],
    ['hex', /^[0-9a-f]+$/i, 16],
    ['alphanumeric', /^[0-9A-Za-z]+$/, 62],
    ['base64url', /^[\w-]+$/, 64],
    ['base64', /^[\w+/]+=*$/, 64],
  ];
  for (const [charset, re, size] of sets)
    if (re.test(value))
      return { bits: Math.floor(value.replace(/=+$/, '').length * Math.log2(size)), charset };
  return { bits: Math.floor(value.length * Math.log2(94)), charset: 'printable' };
}

function entropyCheck(id: string, field: 'sessionId' | 'csrfToken', title: string): Check {
  return {
    id,
    title,
    category: 'session',
    severity: 'high',
    cwe: 'CWE-331',
    remediation: `Generate ${field} from a CSPRNG with at least 128 bits (wsguard: 128-bit session ids, 256-bit CSRF tokens, base64url).`,
    plan: `reads ${field} from the first auth_ok (no extra request)`,
    async run(ctx) {
      const v = authOkOf(ctx)[field];
      if (typeof v !== 'string') throw new SkipError(`auth_ok has no ${field}`);
      const { bits, charset } = entropyBits(v);
      const evidence = {
        sent: [],
        received: [`${field}: ${v.length} chars, ${charset}, at most ${bits} bits`],
      };
      if (bits >= 128)
        return { result: 'pass', detail: `${v.length} ${charset} chars: up to ${bits} bits`, evidence };
      if (bits >= 64)
        return {
          result: 'warn',
          severity: 'medium',
          detail: `only up to ${bits} bits (${v.length} ${charset} chars)`,
          evidence,
        };
      return { result: 'fail', detail: `only up to ${bits} bits (${v.length} ${charset} chars)`, evidence };
    },
  };
}

/** Sends `refresh` with `token` on a fresh authenticated socket; accepted when `refresh_ok` comes back. */
async function refreshWith(ctx: AuditContext, token: string, label: string): Promise<Outcome> {
  authOkOf(ctx);
  const conn = await open(ctx);
  try {
    conn.send({ type: 'refresh', token });
    const t = ctx.bounds.timeoutMs;
    const a = await answer(conn, t);
    const evidence = { sent: [`{"type":"refresh","token":"<${label}>"}`], received: [describe(a, t)] };
    if (a.kind === 'reply' && a.frame.json?.type === 'refresh_ok')
      return { result: 'fail', detail: `refresh with ${label} accepted: refresh_ok`, evidence };
    if (a.kind === 'silent')
      return { result: 'warn', severity: 'info', detail: `no answer to refresh with ${label}`, evidence };
    return { result: 'pass', detail: `refused: ${evidence.received[0]}`, evidence };
  } finally {
    conn.close();
  }
}

export const sessionChecks: Check[] = [
  entropyCheck('session.id-entropy', 'sessionId', 'Session id too short or predictable'),
  entropyCheck('session.csrf-entropy', 'csrfToken', 'CSRF token too short or predictable'),
  {
    id: 'session.expiry',
    title: 'Session expiry not signalled',
    category: 'session',
    severity: 'low',
    cwe: 'CWE-613',
    remediation:
      'Give every session an end (the token’s `exp`, a maximum age) and tell the client (wsguard: `auth_ok.expiresAt`, `session_expiring`, `refresh`).',
    plan: 'reads expiresAt from the first auth_ok (no extra request)',
    async run(ctx) {
      const { expiresAt } = authOkOf(ctx);
      const evidence = { sent: [], received: [`expiresAt: ${String(expiresAt)}`] };
      if (typeof expiresAt !== 'number' || !Number.isFinite(expiresAt))
        return { result: 'fail', detail: 'auth_ok carries no expiresAt', evidence };
      const hours = (expiresAt - Date.now()) / 3_600_000;
      if (hours <= 0)
        return { result: 'warn', severity: 'info', detail: 'expiresAt is already past', evidence };
      if (hours > 7 * 24)
        return {
          result: 'warn',
          severity: 'low',
          detail: `the session lasts ${Math.round(hours / 24)} days`,
          evidence,
        };
      return { result: 'pass', detail: `expires in ${hours.toFixed(1)} h`, evidence };
    },
  },
  {
    id: 'session.refresh-forged',
    title: 'Refresh with a forged token accepted',
    category: 'session',
    severity: 'critical',
    cwe: 'CWE-287',
    remediation: 'Verify a refresh token exactly like the first token (signature, algorithm, expiry).',
    plan: `authenticates, then sends refresh with an unsigned JWT for ${FORGED_SUBJECT}`,
    run: (ctx) => refreshWith(ctx, algNoneToken(FORGED_SUBJECT), 'an alg:none JWT'),
  },
  {
    id: 'session.refresh-other-subject',
    title: 'Refresh with another user’s token accepted',
    category: 'session',
    severity: 'high',
    cwe: 'CWE-287',
    remediation:
      'A refresh must be for the same subject as the session; refuse and close otherwise (wsguard: WSG_AUTH_FAILED, close 4401).',
    plan: 'authenticates with --token, then sends refresh with --other-token (skipped without it)',
    run(ctx) {
      if (!ctx.otherToken) throw new SkipError('needs --other-token (a valid token of another user)');
      return refreshWith(ctx, ctx.otherToken, "another user's valid token");
    },
  },
];
