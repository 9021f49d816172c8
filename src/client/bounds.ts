import { MAX_TIMER_MS, type Timer } from './util.js';

/**
 * The most the client lets a server's numbers and strings cost it. A server (or a man in the
 * middle on `ws://`) chooses every value below; the client clamps each before acting on it, so
 * a hostile answer can slow the client down but not stall it for decades, loop it, or make it
 * hold or send unbounded data. docs/client.md lists these under "What a hostile server can and
 * cannot do".
 */
export const BOUNDS = {
  /** Longest wait before a reconnect that a retry-after (close reason, `Retry-After`) can ask for. */
  maxReconnectRetryAfterMs: 10 * 60_000,
  /** Longest pause of sends that an `error` reply's `retryAfterMs` can ask for. */
  maxSendPauseMs: 60_000,
  /** Least time between two session refreshes, whatever the server says (`session_expiring`). */
  minRefreshIntervalMs: 5_000,
  /** Most `getToken()` calls per minute (connects and refreshes together); more calls wait. */
  tokenCallsPerMinute: 12,
  /**
   * Longest a token that never left the client (its connection attempt failed first) is used
   * again instead of a new `getToken()` call; also how long before its JWT `exp` it stops.
   */
  unspentTokenMaxAgeMs: 30_000,
  /** Inbound bound when the server announces no larger `limits.maxPayload`. */
  defaultInboundBytes: 1024 * 1024,
  /** Largest announced `limits.maxPayload` the client accepts as its inbound bound. */
  maxInboundBytes: 16 * 1024 * 1024,
  /** Longest CSRF token (in `auth_ok` and `refresh_ok`): it is copied into every message. */
  maxCsrfTokenLength: 512,
  /** Longest session id in `auth_ok`. */
  maxSessionIdLength: 256,
  /** An authenticated connection that lasted this long earns a new fresh-token retry after a 4401. */
  reauthResetUptimeMs: 60_000,
} as const;

/** A server's retry-after as the client honours it: a finite number in [0, max], else undefined. */
export function clampRetryAfter(value: unknown, max: number): number | undefined {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) return undefined;
  return Math.min(value, max);
}

/**
 * The inbound bound a server's announced `maxPayload` gives: never below the default, since the
 * server's own frames (acks carrying results, publications, replays) are not bound by what it
 * accepts; a larger announcement raises it, up to the ceiling.
 */
export function inboundBound(announced: unknown): number {
  if (typeof announced !== 'number' || !Number.isInteger(announced) || announced <= 0) {
    return BOUNDS.defaultInboundBytes;
  }
  return Math.min(Math.max(announced, BOUNDS.defaultInboundBytes), BOUNDS.maxInboundBytes);
}

/** setTimeout that never overflows: Node and browsers fire a delay over 2^31-1 ms at once. */
export function safeTimeout(fn: () => void, ms: number): Timer {
  const delay = Number.isFinite(ms) ? Math.min(MAX_TIMER_MS, Math.max(0, ms)) : MAX_TIMER_MS;
  return setTimeout(fn, delay);
}
