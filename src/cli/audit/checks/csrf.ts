import type { AuditContext } from '../context.js';
import { answer, appMessage, describe } from '../net.js';
import type { CheckDef, Outcome } from '../types.js';
import { handled, shared } from './shared.js';

type Check = CheckDef<AuditContext>;

const REMEDIATION =
  'Issue a random per-session CSRF token after authentication and refuse application messages without it (wsguard: `csrfToken` in `auth_ok`, WSG_CSRF_INVALID). It is a second line behind the Origin check.';

async function sendWith(ctx: AuditContext, csrf: string | undefined, label: string): Promise<Outcome> {
  const conn = await shared(ctx, 'csrf');
  const msg = appMessage(ctx, conn, { audit: label });
  if (csrf === undefined) delete (msg as { csrf?: string }).csrf;
  else (msg as { csrf?: string }).csrf = csrf;
  conn.send(msg);
  const t = ctx.bounds.timeoutMs;
  const a = await answer(conn, t);
  const evidence = { sent: [JSON.stringify(msg)], received: [describe(a, t)] };
  if (handled(a))
    return { result: 'fail', detail: `a message ${label} was handled: ${evidence.received[0]}`, evidence };
  if (a.kind === 'silent')
    return {
      result: 'warn',
      severity: 'info',
      detail: `no answer to a message ${label}: inconclusive`,
      evidence,
    };
  const code = a.kind === 'reply' ? a.frame.json?.code : undefined;
  // A refusal for another reason (unknown type, invalid payload) says nothing about CSRF.
  if (typeof code === 'string' && code !== 'WSG_CSRF_INVALID' && !/CSRF/i.test(code))
    return {
      result: 'skip',
      detail: `the server refused the message for another reason: ${code}; use --type with a type that accepts the probe payload`,
      evidence,
    };
  return { result: 'pass', detail: `refused: ${evidence.received[0]}`, evidence };
}

export const csrfChecks: Check[] = [
  {
    id: 'csrf.missing',
    title: 'Application message without a CSRF token handled',
    category: 'csrf',
    severity: 'medium',
    cwe: 'CWE-352',
    remediation: REMEDIATION,
    plan: 'authenticates, then sends one application message with no csrf field',
    run: (ctx) => sendWith(ctx, undefined, 'without a CSRF token'),
  },
  {
    id: 'csrf.wrong',
    title: 'Application message with a wrong CSRF token handled',
    category: 'csrf',
    severity: 'medium',
    cwe: 'CWE-352',
    remediation: REMEDIATION,
    plan: 'sends one application message with a made-up csrf value on the same socket',
    run: (ctx) => sendWith(ctx, 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', 'with a wrong CSRF token'),
  },
];
