import type { IncomingHttpHeaders } from 'node:http';
import type { AuditContext } from './context.js';

/** The check does not apply to this server (or needs something the audit lacks). */
export class SkipError extends Error {
  override name = 'SkipError';
}

/** The server's own defences refused the auditor (429, a ban, an anomaly close): a later run can retry. */
export class ThrottledError extends Error {
  override name = 'ThrottledError';
  constructor(
    message: string,
    /** Seconds the server asked the auditor to wait (Retry-After / retryAfterMs), when it said. */
    readonly retryAfterS?: number,
  ) {
    super(message);
  }
}

/** Retry-After in seconds (delta form), when present and sane. */
export function retryAfter(headers: IncomingHttpHeaders | undefined): number | undefined {
  const v = Number(headers?.['retry-after']);
  return Number.isFinite(v) && v >= 0 && v <= 86_400 ? v : undefined;
}

/**
 * Waits until one more upgrade keeps the run under `upgradesPerMinute` (servers count upgrades
 * per IP: wsguard allows 30 a minute by default), and spends one of the run's upgrade budget.
 */
export async function paceUpgrade(ctx: AuditContext): Promise<void> {
  if (ctx.upgrades.total >= ctx.upgrades.budget)
    throw new SkipError(`the run's probe budget of ${ctx.upgrades.budget} upgrades is spent (--budget)`);
  const times = ctx.upgrades.times;
  for (;;) {
    const now = performance.now();
    while (times.length > 0 && (times[0] ?? 0) <= now - 60_000) times.shift();
    if (times.length < ctx.upgrades.perMinute) break;
    const waitMs = (times[0] ?? now) + 60_000 - now;
    ctx.verbose(`pacing: ${times.length} upgrades in the last minute, waiting ${Math.ceil(waitMs / 1000)} s`);
    await new Promise((r) => setTimeout(r, waitMs + 10));
    // Time spent waiting politely is not the server's slowness: the check's deadline moves with it.
    ctx.deadline += waitMs + 10;
  }
  times.push(performance.now());
  ctx.upgrades.total++;
}
