import type { IncomingHttpHeaders } from 'node:http';
import { readAnnouncedLimits } from '../../protocol/index.js';
import type { AuditContext, MessagePace, UpgradePace } from './context.js';

export type { MessagePace, UpgradePace } from './context.js';

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

/** The longest window the pace keeps: runOne allows one upgrade a minute of waiting. */
const MAX_WINDOW_MS = 60_000;
/** Whatever a server announces, the audit makes at most this many upgrades a second. */
const MAX_UPGRADES_PER_S = 10;

/**
 * The pace that stays under an announced upgrade limit: a tenth (at least two) below `max`, so a
 * client on the same address still connects during and after the run, and a second longer than
 * the window, since the server's window starts when the request arrives, not when it left. The
 * announcement is the target's word: a window over a minute is cut to a minute (its `max` cut in
 * proportion: any longer window is whole minutes of at most that many), and no announcement
 * makes the audit faster than 10 upgrades a second.
 */
export function upgradePace(announced: UpgradePace): UpgradePace {
  let { max, windowMs } = announced;
  if (windowMs > MAX_WINDOW_MS) {
    max = Math.floor((max * MAX_WINDOW_MS) / windowMs);
    windowMs = MAX_WINDOW_MS;
  }
  windowMs = Math.max(1000, Math.round(windowMs));
  max = Math.min(Math.floor(max), (MAX_UPGRADES_PER_S * windowMs) / 1000);
  return { max: Math.max(1, Math.min(Math.floor(max * 0.9), max - 2)), windowMs: windowMs + 1000 };
}

/**
 * The one bucket that keeps every message of the audit under all the announced message limits
 * (this socket's, the user's, the audited type's), at 80 % of the smallest rate and burst; every
 * socket of the run shares it, so each socket's own bucket is spared too. Undefined when the
 * server announced no message limit.
 */
export function messagePace(limits: unknown, type: string): MessagePace | undefined {
  const l = readAnnouncedLimits(limits);
  if (!l) return undefined;
  const rates: MessagePace[] = [];
  if (l.messagesPerSecond !== undefined && l.burst !== undefined)
    rates.push({ rate: l.messagesPerSecond, burst: l.burst });
  if (l.user) rates.push(l.user);
  const t = l.types?.[type];
  // A type that costs more than one token empties its bucket that much faster.
  if (t) rates.push({ rate: t.rate / (t.cost ?? 1), burst: t.burst / (t.cost ?? 1) });
  if (rates.length === 0) return undefined;
  return {
    // At least one a second: an announcement is the target's word, and must not stall the audit.
    rate: Math.max(1, 0.8 * Math.min(...rates.map((r) => r.rate))),
    burst: Math.max(1, Math.floor(0.8 * Math.min(...rates.map((r) => r.burst)))),
  };
}

/**
 * Reads the limits of the first `auth_ok`: the upgrade pace follows the server's announced
 * `connectionsPerIp` (unless the user fixed it with --upgrades-per-minute), and messages sent
 * through paceMessages follow its message buckets. Nothing announced: the conservative defaults stay.
 */
export function adoptAnnouncedLimits(ctx: AuditContext, authOk: Record<string, unknown>): void {
  ctx.limitsRead = true;
  const l = readAnnouncedLimits(authOk.limits);
  if (l?.connectionsPerIp) {
    ctx.upgrades.announced = l.connectionsPerIp;
    if (ctx.upgrades.follow) {
      const pace = upgradePace(l.connectionsPerIp);
      ctx.upgrades.max = pace.max;
      ctx.upgrades.windowMs = pace.windowMs;
      ctx.verbose(
        `pacing: the server announces ${l.connectionsPerIp.max} upgrades per ${l.connectionsPerIp.windowMs / 1000} s: at most ${pace.max} per ${pace.windowMs / 1000} s`,
      );
    }
  }
  const m = messagePace(authOk.limits, ctx.type);
  if (m) ctx.messages = { ...m, tokens: m.burst, at: performance.now() };
}

/** Waits for `ms`; the running check's deadline moves with it (waiting politely is not the server's slowness). */
async function politeWait(ctx: AuditContext, ms: number) {
  await new Promise((r) => setTimeout(r, ms));
  ctx.deadline += ms;
}

/**
 * Waits until one more upgrade keeps the run within its pace (servers count upgrades per IP:
 * wsguard allows 30 a minute by default), and spends one of the run's upgrade budget. With
 * `wait` false (a deliberate load) the upgrade is only counted.
 */
export async function paceUpgrade(ctx: AuditContext, wait = true): Promise<void> {
  if (!wait) return countUpgrade(ctx);
  if (ctx.upgrades.total >= ctx.upgrades.budget)
    throw new SkipError(`the run's probe budget of ${ctx.upgrades.budget} upgrades is spent (--budget)`);
  const times = ctx.upgrades.times;
  for (;;) {
    const now = performance.now();
    const waitMs = nextUpgradeWait(times, ctx.upgrades, now);
    if (waitMs <= 0) break;
    ctx.verbose(
      `pacing: ${times.length} upgrades in the last ${ctx.upgrades.windowMs / 1000} s, waiting ${Math.ceil(waitMs / 1000)} s`,
    );
    await politeWait(ctx, waitMs + 10);
  }
  countUpgrade(ctx);
}

/**
 * How long to wait before one more upgrade keeps at most `pace.max` in any `pace.windowMs`
 * (0: at once). Drops the times that left the window from `times` (oldest first).
 */
export function nextUpgradeWait(times: number[], pace: UpgradePace, now: number): number {
  while (times.length > 0 && (times[0] ?? 0) <= now - pace.windowMs) times.shift();
  if (times.length < pace.max) return 0;
  // The oldest upgrades that must leave the window before one more fits.
  const t = times[times.length - pace.max] ?? now;
  return Math.max(0, t + pace.windowMs - now);
}

/** Records an upgrade the server will count, paced or not (the stress checks' deliberate ones). */
export function countUpgrade(ctx: AuditContext): void {
  ctx.upgrades.times.push(performance.now());
  ctx.upgrades.total++;
}

/** Upgrades of the run within the last window (for the closing line). */
export function recentUpgrades(ctx: AuditContext): number {
  const now = performance.now();
  const w = ctx.upgrades.announced?.windowMs ?? ctx.upgrades.windowMs;
  return ctx.upgrades.times.filter((t) => t > now - w).length;
}

/**
 * Waits until `n` more messages fit the announced message limits (see messagePace); at once
 * when the server announced none. For checks that are not about rate limits: they must not
 * meet one (a refusal would be a false verdict, and strikes climb the penalty ladder).
 */
export async function paceMessages(ctx: AuditContext, n = 1): Promise<void> {
  const b = ctx.messages;
  if (!b) return;
  for (let left = n; left > 0; ) {
    const take = Math.min(left, b.burst);
    for (;;) {
      const now = performance.now();
      b.tokens = Math.min(b.burst, b.tokens + ((now - b.at) / 1000) * b.rate);
      b.at = now;
      if (b.tokens >= take) break;
      await politeWait(ctx, Math.ceil(((take - b.tokens) / b.rate) * 1000));
    }
    b.tokens -= take;
    left -= take;
  }
}
