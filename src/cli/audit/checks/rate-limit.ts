import type { AuditContext } from '../context.js';
import { type Answer, answer, appMessage, type Conn, describe, isThrottle, open, SkipError } from '../net.js';
import type { CheckDef } from '../types.js';
import { shared } from './shared.js';

type Check = CheckDef<AuditContext>;

interface BurstResult {
  /** Messages handled before the first refusal. */
  handled: number;
  /** The refusal (a limit's error, or a close), when one came. */
  limitedBy: Answer | undefined;
  /** Another reaction that ended the burst (silence, an unrelated error). */
  stoppedBy: Answer | undefined;
}

/** The rate a burst aims at, messages per second, whatever the round trip. */
export const BURST_RATE = 500;

/**
 * Messages in flight per round trip: a fixed batch would send 10 per round trip, about 100
 * per second over a 100 ms link, below many real limits (a false "never limited").
 */
export function burstWindow(rttMs: number): number {
  return Math.min(100, Math.max(10, Math.ceil((rttMs * BURST_RATE) / 1000)));
}

/**
 * Sends at most `max` messages in batches sized by the round trip, reading every answer, and
 * stops at the first refusal: enough to meet a limit, too few refusals to climb a penalty ladder.
 */
async function burst(ctx: AuditContext, conn: Conn, max: number): Promise<BurstResult> {
  let handled = 0;
  const t = ctx.bounds.timeoutMs;
  const window = burstWindow(ctx.rttMs);
  for (let sent = 0; sent < max; ) {
    const n = Math.min(window, max - sent);
    for (let i = 0; i < n; i++) conn.send(appMessage(ctx, conn, sent + i));
    sent += n;
    for (let i = 0; i < n; i++) {
      const a = await answer(conn, t);
      if (a.kind === 'closed' || isThrottle(a)) return { handled, limitedBy: a, stoppedBy: undefined };
      if (a.kind === 'silent' || a.refused) return { handled, limitedBy: undefined, stoppedBy: a };
      handled++;
    }
  }
  return { handled, limitedBy: undefined, stoppedBy: undefined };
}

const BURST = 'rate-limit.burst';

export const burstCheck: Check = {
  id: BURST,
  title: 'A bounded burst is never limited',
  category: 'rate-limit',
  severity: 'medium',
  cwe: 'CWE-770',
  remediation:
    'Limit messages per socket and per user with token buckets, refuse the excess with an error carrying a retry time (wsguard: `limits.messages`, `limits.user`, WSG_RATE_LIMITED).',
  plan: 'sends at most --burst application messages, as many in flight as the round trip needs for 500 per second, stopping at the first refusal',
  async run(ctx) {
    const conn = await shared(ctx, 'rate');
    const r = await burst(ctx, conn, ctx.bounds.burst);
    const t = ctx.bounds.timeoutMs;
    const evidence = {
      sent: [`${r.handled + 1} × ${JSON.stringify(appMessage(ctx, conn, 0))} (numbered payloads)`],
      received: [`${r.handled} handled`, ...(r.limitedBy ? [describe(r.limitedBy, t)] : [])],
    };
    if (r.stoppedBy) {
      evidence.received.push(describe(r.stoppedBy, t));
      return {
        result: 'error',
        detail: `the burst stopped after ${r.handled} messages: ${describe(r.stoppedBy, t)}`,
        evidence,
      };
    }
    if (!r.limitedBy)
      return {
        result: 'fail',
        detail: `${r.handled} messages in a burst, none refused`,
        evidence,
        data: { handled: r.handled },
      };
    ctx.memo.set(BURST, r.handled);
    return {
      result: 'pass',
      detail: `limited after ${r.handled} messages: ${describe(r.limitedBy, t)}`,
      evidence,
      data: { handled: r.handled },
    };
  },
};

const ESCALATE = 'rate-limit.escalation.conn';

export const reconnectCheck: Check = {
  id: 'rate-limit.reconnect',
  title: 'A reconnect resets the budget (limits per connection only)',
  category: 'rate-limit',
  severity: 'medium',
  cwe: 'CWE-770',
  remediation:
    'Keep a per-user (and per-IP) budget across sockets, in a store shared by all processes (wsguard: `limits.user`, the Store), so opening new sockets does not buy new budget.',
  plan: 'right after the burst, opens three new sockets and bursts on all at once (each at most --burst messages)',
  async run(ctx) {
    const first = ctx.memo.get(BURST) as number | undefined;
    if (first === undefined) throw new SkipError('the first burst was never limited (rate-limit.burst)');
    // Three sockets: two at a per-socket limit can sum to a per-user burst of twice that (wsguard's
    // defaults: 100 per socket, 200 per user), so only a third shows whether the user is limited.
    // allSettled: when one open is refused the others must still be closed, or the CLI never exits.
    const opened = await Promise.allSettled([open(ctx), open(ctx), open(ctx)]);
    for (const o of opened) if (o.status === 'fulfilled') ctx.cleanup.push(() => o.value.close());
    const conns: Conn[] = [];
    for (const o of opened) {
      if (o.status !== 'fulfilled') throw o.reason;
      conns.push(o.value);
    }
    const results = await Promise.all(conns.map((c) => burst(ctx, c, ctx.bounds.burst)));
    for (const c of conns.slice(0, -1)) c.close();
    ctx.memo.set(ESCALATE, conns[conns.length - 1]);
    const counts = results.map((r) => r.handled);
    const evidence = {
      sent: [`three new sockets, a burst on each at once (at most ${ctx.bounds.burst})`],
      received: [`first socket: ${first} handled`, `then: ${counts.join(', ')}`],
    };
    const data = { first, second: counts[0] ?? 0, third: counts[1] ?? 0, fourth: counts[2] ?? 0 };
    return counts.every((n) => n >= 0.9 * first)
      ? {
          result: 'fail',
          detail: `each new socket got the full budget again (${first}, then ${counts.join(', ')} at once)`,
          evidence,
          data,
        }
      : {
          result: 'pass',
          detail: `new sockets shared the budget (${first}, then ${counts.join(' + ')})`,
          evidence,
          data,
        };
  },
};

export const escalationCheck: Check = {
  id: 'rate-limit.escalation',
  title: 'Repeated limit violations never escalate',
  category: 'rate-limit',
  severity: 'low',
  cwe: 'CWE-799',
  remediation:
    'Close and temporarily block a client that keeps sending past its limit, with growing blocks for repeat offenders (wsguard: `limits.penalties`, close 4429 WSG_BLOCKED). Note: against wsguard this check gets the auditor blocked for `blockMs` (30 s by default).',
  plan: 'keeps sending past the limit on one socket (at most --burst messages) until the server closes it',
  async run(ctx) {
    if (!ctx.escalate)
      throw new SkipError('gets the auditor blocked on a defended server: pass --escalate to run it');
    if (ctx.memo.get(BURST) === undefined)
      throw new SkipError('the first burst was never limited (rate-limit.burst)');
    const held = ctx.memo.get(ESCALATE) as Conn | undefined;
    const conn = held && !held.closeInfo() ? held : await shared(ctx, 'rate');
    const t = ctx.bounds.timeoutMs;
    let refused = 0;
    let handled = 0;
    for (let sent = 0; sent < ctx.bounds.burst; ) {
      const n = Math.min(burstWindow(ctx.rttMs), ctx.bounds.burst - sent);
      for (let i = 0; i < n; i++) conn.send(appMessage(ctx, conn, sent + i));
      sent += n;
      for (let i = 0; i < n; i++) {
        const a = await answer(conn, t);
        if (a.kind === 'closed') {
          conn.close();
          ctx.memo.set('rate-limit.escalated', true);
          return {
            result: 'pass',
            detail: `closed ${a.code}${a.reason ? ` ${a.reason}` : ''} after ${refused} refusals`,
            evidence: {
              sent: [`${sent} messages past the limit`],
              received: [`${refused} refusals`, describe(a, t)],
            },
            data: { refused, handled },
          };
        }
        if (a.kind === 'silent') {
          conn.close();
          return {
            result: 'warn',
            severity: 'info',
            detail: `no answer after ${refused} refusals: inconclusive`,
            evidence: {
              sent: [`${sent} messages past the limit`],
              received: [`${refused} refusals`, describe(a, t)],
            },
            data: { refused, handled },
          };
        }
        if (a.refused) refused++;
        else handled++;
      }
    }
    conn.close();
    return {
      result: 'fail',
      detail: `${refused} refusals (${handled} handled) and the socket was never closed`,
      evidence: {
        sent: [`${ctx.bounds.burst} messages past the limit`],
        received: [`${refused} refusals, no close`],
      },
      data: { refused, handled },
    };
  },
};

export const rateLimitChecks: Check[] = [burstCheck, reconnectCheck, escalationCheck];
