import { clearTimeout, setTimeout } from 'node:timers';
import type { AuditContext } from '../context.js';
import { type Answer, answer, appMessage, appProbe, type Conn, describe, open, SkipError } from '../net.js';
import { algNoneToken, FORGED_SUBJECT } from '../tokens.js';
import type { CheckDef, Outcome } from '../types.js';
import { queryTokenSocket, queryTokenUrl } from './token-echo.js';

type Check = CheckDef<AuditContext>;

const needsAuth = (ctx: AuditContext) => {
  if (ctx.noAuth)
    throw new SkipError('the server handles messages without any authentication (auth.no-token)');
};

/** Offers `token` in `auth`; accepted when `auth_ok` comes back or a message after it is handled. */
export async function tryToken(ctx: AuditContext, token: string, label: string): Promise<Outcome> {
  needsAuth(ctx);
  const conn = await open(ctx, { auth: false });
  const t = ctx.bounds.timeoutMs;
  try {
    const sent = [`{"type":"auth","token":"<${label}>"}`];
    conn.send({ type: 'auth', token });
    const a = await answer(conn, t);
    const received = [describe(a, t)];
    if (a.kind === 'reply' && a.frame.json?.type === 'auth_ok')
      return { result: 'fail', detail: `${label} accepted: auth_ok`, evidence: { sent, received } };
    if (a.kind === 'closed' || (a.kind === 'reply' && a.refused))
      return { result: 'pass', detail: `${label} refused: ${received[0]}`, evidence: { sent, received } };
    // Not a wsguard answer: does the server now handle application messages?
    const msg = appMessage(ctx, conn, { audit: 'after-auth' });
    conn.send(msg);
    sent.push(JSON.stringify(msg));
    const b = await answer(conn, t);
    received.push(describe(b, t));
    return handled(b)
      ? {
          result: 'fail',
          detail: `after ${label}, a message was handled: ${received[1]}`,
          evidence: { sent, received },
        }
      : {
          result: 'pass',
          detail: `${label} not accepted: ${received.join(', ')}`,
          evidence: { sent, received },
        };
  } finally {
    conn.close();
  }
}

/** A non-error reply: the server handled the message. */
const handled = (a: Answer) => a.kind === 'reply' && !a.refused;

export const noToken: Check = {
  id: 'auth.no-token',
  title: 'Messages handled without authentication',
  category: 'authentication',
  severity: 'critical',
  cwe: 'CWE-306',
  remediation:
    'Require a verified token before handling anything: wsguard refuses every message before `auth_ok` (WSG_AUTH_REQUIRED, close 4401).',
  plan: 'opens a socket without any token (the protocol opening without credentials) and sends one application message',
  async run(ctx) {
    const conn = await open(ctx, { auth: false });
    const t = ctx.bounds.timeoutMs;
    try {
      // Socket.IO and graphql-ws authenticate in their opening (connect / connection_init).
      const opening = conn.opening;
      const opened = opening ? [`(${ctx.protocol.name} opening without credentials)`] : [];
      if (opening && !opening.ok)
        return {
          result: 'pass',
          detail: `the ${ctx.protocol.name} opening without credentials was refused: ${opening.refusal}`,
          evidence: { sent: opened, received: opening.received },
        };
      const msg = ctx.protocol.message(appProbe(ctx, conn), { audit: 'no-token' });
      conn.sendRaw(msg);
      const a = await answer(conn, t);
      const said = describe(a, t);
      const evidence = { sent: [...opened, msg], received: [...(opening?.received ?? []), said] };
      if (handled(a)) {
        ctx.noAuth = true;
        return { result: 'fail', detail: `handled without a token: ${said}`, evidence };
      }
      if (a.kind === 'silent')
        return { result: 'warn', severity: 'info', detail: 'no answer and no close: inconclusive', evidence };
      return { result: 'pass', detail: `refused: ${said}`, evidence };
    } finally {
      conn.close();
    }
  },
};

export const garbageToken: Check = {
  id: 'auth.garbage-token',
  title: 'A garbage token accepted',
  category: 'authentication',
  severity: 'critical',
  cwe: 'CWE-287',
  remediation: 'Verify every token (signature, expiry, issuer, audience) and refuse anything else.',
  plan: 'opens a socket and authenticates with a random string',
  run: (ctx) => tryToken(ctx, `garbage-${Math.random().toString(36).slice(2)}`, 'a garbage token'),
};

export const algNone: Check = {
  id: 'auth.alg-none',
  title: 'An unsigned JWT (alg: none) accepted',
  category: 'authentication',
  severity: 'critical',
  cwe: 'CWE-347',
  remediation:
    'Pin the accepted algorithms when verifying JWTs (wsguard pins HS256 / RS256 / ES256 / EdDSA; `none` is never accepted).',
  plan: `authenticates with an unsigned JWT (alg none) for the subject ${FORGED_SUBJECT}`,
  run: (ctx) => tryToken(ctx, algNoneToken(FORGED_SUBJECT), 'an alg:none JWT'),
};

const TIMEOUT_KEY = 'auth.timeout';

type SilentClose = { code: number; reason: string; afterMs: number } | undefined;

/** Watches a socket that sent nothing since `opened`: how long does the server let it live? */
function holdSilent(ctx: AuditContext, conn: Conn, opened: number): Promise<SilentClose> {
  let timer: NodeJS.Timeout | undefined;
  const watched = Promise.race([
    conn.closed.then((c) => ({ ...c, afterMs: performance.now() - opened })),
    new Promise<undefined>((r) => {
      timer = setTimeout(() => r(undefined), ctx.bounds.authWaitMs);
    }),
  ]).finally(() => {
    clearTimeout(timer);
    conn.close();
  });
  ctx.pending.set(TIMEOUT_KEY, watched);
  ctx.cleanup.push(() => {
    clearTimeout(timer);
    conn.close();
  });
  return watched;
}

export const queryToken: Check = {
  id: 'auth.query-token',
  title: 'Token in the query string accepted',
  category: 'authentication',
  severity: 'medium',
  cwe: 'CWE-598',
  remediation:
    'Take the token from the first message (or the Authorization header / subprotocol), not the URL: URLs end up in proxy and access logs and in history. wsguard ignores `?token=` unless `allowQueryToken: true`.',
  plan: 'opens a socket with ?token=<--token> and sends nothing (the same socket then times the auth phase)',
  async run(ctx) {
    needsAuth(ctx);
    const { conn, first, refused, openedAt: opened } = await queryTokenSocket(ctx);
    if (!conn) throw new Error(`HTTP ${refused?.status} from ${queryTokenUrl(ctx)}`);
    const evidence = {
      sent: [`GET ${ctx.url}?token=<--token> (upgrade), then nothing`],
      received: [] as string[],
    };
    if (first) evidence.received.push(first.text.slice(0, 200));
    if (first?.json?.type === 'auth_ok') {
      // Left open for auth.query-token-echo, which reads what this session sends back.
      return { result: 'fail', detail: 'authenticated by the token in the URL: auth_ok', evidence };
    }
    // Keep the silent socket for auth.timeout, which reads how long the server let it live.
    holdSilent(ctx, conn, opened);
    if (first && first.json?.type !== 'error')
      return {
        result: 'warn',
        severity: 'info',
        detail: `unexpected first frame: ${evidence.received[0]}`,
        evidence,
      };
    return { result: 'pass', detail: 'the query token was ignored (no auth_ok)', evidence };
  },
};

export const authTimeout: Check = {
  id: 'auth.timeout',
  title: 'Unauthenticated sockets not timed out',
  category: 'authentication',
  severity: 'medium',
  cwe: 'CWE-400',
  remediation:
    'Close a socket that has not authenticated within a few seconds (wsguard: `authTimeoutMs`, default 5000, close 4408 WSG_AUTH_TIMEOUT), so idle sockets cannot exhaust the server.',
  plan: 'waits (at most --auth-wait) for the server to close the silent socket of auth.query-token (other protocols: a socket that never makes the opening)',
  async run(ctx) {
    needsAuth(ctx);
    let pending = ctx.pending.get(TIMEOUT_KEY) as Promise<SilentClose> | undefined;
    // auth.query-token is wsguard's: against other protocols the silent socket is opened here.
    const own = !pending && !ctx.protocol.wsguard;
    if (own) pending = holdSilent(ctx, await open(ctx, { silent: true }), performance.now());
    if (!pending) throw new SkipError('no silent socket (auth.query-token did not keep one)');
    const closed = await pending;
    const evidence = {
      sent: [
        own
          ? `(nothing after the upgrade: no ${ctx.protocol.name} opening)`
          : '(nothing, on the socket opened by auth.query-token)',
      ],
      received: [] as string[],
    };
    if (!closed)
      return {
        result: 'fail',
        detail: `a socket that never authenticated was still open after ${ctx.bounds.authWaitMs} ms`,
        evidence,
      };
    evidence.received.push(`closed ${closed.code} ${closed.reason} after ${Math.round(closed.afterMs)} ms`);
    // Any other close (a crash, a proxy idle timeout, a ban) is not proof of an authentication
    // deadline; a protocol without a code for it (Socket.IO, raw) is taken at its word.
    const code = ctx.protocol.openingTimeoutCode;
    if (code !== undefined && closed.code !== code)
      return {
        result: 'warn',
        detail: `closed ${closed.code}${closed.reason ? ` ${closed.reason}` : ''} after ${Math.round(closed.afterMs)} ms, not ${code} (auth timeout)`,
        evidence,
      };
    return {
      result: 'pass',
      detail: `closed ${closed.code}${closed.reason ? ` ${closed.reason}` : ''} after ${Math.round(closed.afterMs)} ms`,
      evidence,
    };
  },
};

export const authenticationChecks: Check[] = [noToken, garbageToken, algNone, queryToken];
/** Runs last: it waits for the server's auth timeout while the other checks go on. */
export const lateAuthenticationChecks: Check[] = [authTimeout];
