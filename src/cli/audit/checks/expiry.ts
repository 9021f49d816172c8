import type { AuditContext } from '../context.js';
import { answer, appMessage, describe, type Frame, open, SkipError, short, ThrottledError } from '../net.js';
import type { CheckDef } from '../types.js';
import { baseClaims, signer } from './jwt.js';
import { handled } from './shared.js';

type Check = CheckDef<AuditContext>;

/** Seconds the minted token lives: short, so the check waits little; long enough to authenticate over a slow link. */
export const SHORT_LIFETIME_S = 3;

const EXPIRED = /expir|WSG_SESSION|WSG_AUTH|unauthori[sz]ed|401/i;

export const outlivesToken: Check = {
  id: 'session.outlives-token',
  title: 'A socket stays authenticated after its token expired',
  category: 'session',
  severity: 'medium',
  cwe: 'CWE-613',
  remediation:
    "End the session at the token's `exp`: ask the client for a fresh token before it, and close the socket when none came (wsguard: `session_expiring`, then `WSG_SESSION_EXPIRED` and close 4401). Checking `exp` only at the handshake lets a revoked or stolen token live as long as its socket.",
  plan: `authenticates with the claims of --token signed with --secret / --private-key, \`exp\` ${SHORT_LIFETIME_S} s ahead; waits until 2 s past it (reading what the server sends), then sends one application message`,
  async run(ctx) {
    if (ctx.noAuth)
      throw new SkipError('the server handles messages without any authentication (auth.no-token)');
    const key = await signer(ctx);
    // Opened first, the token minted after: the upgrade may wait for the pace longer than the token lives.
    const conn = await open(ctx, { auth: false });
    const t = ctx.bounds.timeoutMs;
    try {
      const nowS = Math.floor(Date.now() / 1000);
      const exp = nowS + SHORT_LIFETIME_S;
      conn.send({ type: 'auth', token: key.sign({ ...baseClaims(ctx), iat: nowS, exp }) });
      const ok = await answer(conn, t);
      if (/WSG_(BLOCKED|BANNED|ANOMALY|RATE_LIMITED|TOO_MANY_CONNECTIONS)/.test(describe(ok, t)))
        throw new ThrottledError(`the server refused the auditor: ${describe(ok, t)}`);
      if (ok.kind !== 'reply' || ok.frame.json?.type !== 'auth_ok')
        throw new SkipError(
          `the server refused a freshly signed token living ${SHORT_LIFETIME_S} s (${describe(ok, t)})`,
        );
      const sent = [`{"type":"auth","token":"<signed, exp in ${SHORT_LIFETIME_S} s>"}`];
      const received = [`auth_ok expiresAt: ${String(ok.frame.json.expiresAt)}`];
      const csrf = ok.frame.json.csrfToken;
      conn.csrf = typeof csrf === 'string' ? csrf : undefined;
      // Two seconds and two round trips of slack: the server's clock and timers need not be exact.
      const until = exp * 1000 + 2000 + 2 * ctx.rttMs;
      const frames: Frame[] = [];
      while (Date.now() < until && !conn.closeInfo() && frames.length < 50) {
        const f = await conn.next(Math.max(1, until - Date.now()));
        if (f) frames.push(f);
      }
      for (const f of frames.slice(0, 5)) received.push(short(f.text, 120));
      const closed = conn.closeInfo();
      const past = () => `${((Date.now() - exp * 1000) / 1000).toFixed(1)} s after exp`;
      if (closed) {
        received.push(`closed ${closed.code} ${closed.reason}`);
        return {
          result: 'pass',
          detail: `closed ${closed.code}${closed.reason ? ` ${closed.reason}` : ''} by ${past()}`,
          evidence: { sent, received },
        };
      }
      const msg = appMessage(ctx, conn, { audit: 'after-exp' });
      conn.send(msg);
      sent.push(JSON.stringify(msg));
      const a = await answer(conn, t);
      received.push(describe(a, t));
      const evidence = { sent, received };
      if (handled(a))
        return {
          result: 'fail',
          detail: `a message was handled ${past()} on a socket whose token had expired (no close, no refusal)`,
          evidence,
        };
      if (a.kind === 'closed' || (a.kind === 'reply' && EXPIRED.test(a.frame.text)))
        return { result: 'pass', detail: `refused ${past()}: ${describe(a, t)}`, evidence };
      if (a.kind === 'silent')
        return { result: 'warn', severity: 'info', detail: `no answer ${past()}: inconclusive`, evidence };
      throw new SkipError(
        `the message after exp was refused for another reason (${describe(a, t)}); use --type/--payload with a message the server handles`,
      );
    } finally {
      conn.close();
    }
  },
};
