import { BOUNDS, safeTimeout } from './bounds.js';
import { AuthError } from './errors.js';
import { readJwtExpiry } from './jwt.js';
import type { DebugLog } from './logger.js';
import { MAX_TIMER_MS, type Timer, toError } from './util.js';

/** Earliest a scheduled refresh may run, so a nearly expired token cannot cause a refresh loop. */
export const MIN_REFRESH_DELAY_MS = 1000;

export interface SessionRefreshOptions {
  /** Refresh this long before the session or the JWT expires (at most half the time left). */
  marginMs: number;
  /** A refresh without `refresh_ok` within this time failed. */
  timeoutMs: number;
  now(): number;
  log: DebugLog;
  /** A fresh token (shared with a connect that waits for one). */
  getToken(): Promise<string>;
  /** Sends `{type:'refresh', token}` on the live socket. */
  sendRefresh(token: string): void;
  /** `refresh_ok` arrived, with the session's (maybe rotated) CSRF token. */
  onRefreshed(csrfToken: string): void;
  /** The refresh failed: no reply in time, an error reply, or no token. Called once per refresh. */
  onFailed(error: AuthError): void;
  /** A refresh started or ended (sends are held while one runs). */
  onActiveChange(): void;
}

export interface SessionRefresh {
  /** A connection was authenticated with `token`; schedules the refresh before `expiresAt`. */
  start(token: string | undefined, expiresAt: number | undefined): void;
  /** The connection ended: forget it, its timers and any refresh under way. */
  stop(): void;
  /** Refreshes now (on `session_expiring`, or when the scheduled time comes). */
  refresh(): void;
  /** Handles `refresh_ok`. */
  ok(msg: { csrfToken?: unknown; expiresAt?: unknown }): void;
  /** The refresh under way failed (an `error` reply while it ran). */
  fail(error: Error): void;
  /** A refresh is under way. */
  readonly active: boolean;
}

/** The earlier of the JWT's own `exp` and the session's `expiresAt`. */
export function sessionExpiry(token: string | undefined, expiresAt: number | undefined): number | undefined {
  const jwt = token === undefined ? undefined : readJwtExpiry(token);
  if (jwt === undefined) return expiresAt;
  return expiresAt === undefined ? jwt : Math.min(jwt, expiresAt);
}

/** How long to wait before refreshing a session that expires at `expiry`. */
export function refreshDelay(expiry: number, now: number, marginMs: number): number {
  const left = expiry - now;
  const margin = Math.min(marginMs, left / 2);
  return Math.min(MAX_TIMER_MS, Math.max(MIN_REFRESH_DELAY_MS, left - margin));
}

/**
 * Session refresh on the live socket: a timer before the session (or the JWT) expires, or the
 * server's `session_expiring`, gets a fresh token and sends `refresh`; `refresh_ok` rotates the
 * CSRF token. Anything else (an error reply, no reply in time, no token) is a failure, and the
 * owner reconnects with a fresh token.
 */
export function createSessionRefresh(o: SessionRefreshOptions): SessionRefresh {
  let running = false;
  let active = false;
  /** Bumped when the connection ends, so a token that arrives later is not sent. */
  let epoch = 0;
  let token: string | undefined;
  let expiresAt: number | undefined;
  let nextToken: string | undefined;
  let timer: Timer | undefined;
  let deadline: Timer | undefined;
  /** A refresh asked for too soon after the last one, waiting out the floor. */
  let deferred: Timer | undefined;
  /** When the last refresh started (`now()`); kept across connections so a reconnect cannot reset the floor. */
  let lastStartedAt = Number.NEGATIVE_INFINITY;

  const clearTimers = () => {
    for (const t of [timer, deadline, deferred]) if (t !== undefined) clearTimeout(t);
    timer = deadline = deferred = undefined;
  };

  const end = (notify: boolean) => {
    const was = active;
    active = false;
    nextToken = undefined;
    clearTimers();
    if (was && notify) o.onActiveChange();
  };

  const schedule = (previousExpiry: number | undefined) => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    const expiry = sessionExpiry(token, expiresAt);
    if (expiry === undefined) return;
    // A refresh that did not move the expiry must not schedule the same refresh again.
    if (previousExpiry !== undefined && expiry <= previousExpiry) return;
    timer = safeTimeout(
      () => {
        timer = undefined;
        refresh();
      },
      refreshDelay(expiry, o.now(), o.marginMs),
    );
  };

  const fail = (error: Error) => {
    if (!active) return;
    o.log('refresh failed', { error });
    o.onFailed(
      error instanceof AuthError
        ? error
        : new AuthError('session refresh failed', undefined, { cause: error }),
    );
  };

  const refresh = () => {
    if (!running || active) return;
    // However often the server says `session_expiring`, refreshes keep a floor apart.
    const wait = lastStartedAt + BOUNDS.minRefreshIntervalMs - o.now();
    if (wait > 0) {
      if (deferred === undefined) {
        o.log('refresh deferred: the last one was too recent', { waitMs: wait });
        deferred = safeTimeout(() => {
          deferred = undefined;
          refresh();
        }, wait);
      }
      return;
    }
    lastStartedAt = o.now();
    const mine = epoch;
    active = true;
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    deadline = setTimeout(() => {
      if (mine === epoch) fail(new AuthError('no refresh_ok in time'));
    }, o.timeoutMs);
    o.log('refreshing the session');
    o.onActiveChange();
    o.getToken().then(
      (fresh) => {
        if (mine !== epoch || !active) return;
        nextToken = fresh;
        o.sendRefresh(fresh);
      },
      (err: unknown) => {
        if (mine === epoch) fail(toError(err));
      },
    );
  };

  return {
    start(connectedWith, sessionExpiresAt) {
      running = true;
      token = connectedWith;
      expiresAt = sessionExpiresAt;
      schedule(undefined);
    },
    stop() {
      running = false;
      epoch++;
      end(true);
    },
    refresh,
    ok(msg) {
      if (!active) return;
      const { csrfToken } = msg;
      if (
        typeof csrfToken !== 'string' ||
        csrfToken.length === 0 ||
        csrfToken.length > BOUNDS.maxCsrfTokenLength
      ) {
        return fail(new AuthError('malformed refresh_ok'));
      }
      const previous = sessionExpiry(token, expiresAt);
      if (nextToken !== undefined) token = nextToken;
      // No onActiveChange here: onRefreshed flushes the held sends and reports the outbox itself.
      end(false);
      if (typeof msg.expiresAt === 'number' && Number.isFinite(msg.expiresAt)) expiresAt = msg.expiresAt;
      o.log('session refreshed', { expiresAt });
      schedule(previous);
      o.onRefreshed(csrfToken);
    },
    fail,
    get active() {
      return active;
    },
  };
}
