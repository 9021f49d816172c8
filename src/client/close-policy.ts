import {
  CloseCode,
  type ErrorCode,
  type ErrorCodeInfo,
  ErrorCodes,
  parseCloseReason,
} from '../protocol/index.js';
import { type BackoffOptions, backoffDelay } from './backoff.js';
import { BOUNDS, clampRetryAfter } from './bounds.js';
import { AuthError, ConnectionError } from './errors.js';
import type { TransportClose } from './transport.js';

/** Why a connection ended, from the client's side. */
export type CloseCause =
  /** The server sent a close frame. */
  | 'server'
  /** The connection failed or dropped without a close frame (code 1006), or the handshake was refused. */
  | 'network'
  /** No pong by the heartbeat deadline: the connection was dead and was dropped by the client. */
  | 'pong-timeout'
  /** No `auth_ok` within `connectTimeoutMs`. */
  | 'connect-timeout'
  /** `getToken()` failed or gave an unusable token; no socket was opened (code 1006). */
  | 'token'
  /** A session refresh failed; the client reconnects with a fresh token. */
  | 'refresh-failed'
  /** The server broke the protocol (e.g. a malformed `auth_ok`). */
  | 'protocol'
  /** The server sent a message over the inbound bound; the client closed with 1009. */
  | 'too-large'
  /** `close()` was called. */
  | 'client';

/** What the client knows about a connection that ended; `shouldReconnect` gets this. */
export interface CloseInfo {
  /** The WebSocket close code (1006 when there was no close frame). */
  code: number;
  /** The close reason the server sent (a short code such as `WSG_BLOCKED;retryAfterMs=5000`). */
  reason: string;
  cause: CloseCause;
  /** The wsguard error code in the reason, when there is one. */
  errorCode?: ErrorCode;
  /** How long the server asked the client to wait (close reason, or `Retry-After` on a refused upgrade). */
  retryAfterMs?: number;
  /** The HTTP status of a refused upgrade (Node only: browsers hide it and report 1006). */
  httpStatus?: number;
  /** Failed attempts in a row before this one. */
  attempt: number;
}

export type CloseAction =
  /** Reconnect after the backoff delay (and at least `retryAfterMs`). */
  | 'retry'
  /** Reconnect once with a fresh token; stop if the server refuses it again. */
  | 'reauth'
  /** Do not reconnect. */
  | 'stop';

/**
 * The close-code table. Codes that mean "you may not" stop; codes that mean "not now" retry,
 * honouring the server's retry-after; an auth failure gets one fresh token.
 */
export const CLOSE_POLICY: Readonly<Record<number, CloseAction>> = {
  1000: 'stop', // the server ended the session on purpose
  [CloseCode.GoingAway]: 'retry',
  1002: 'stop', // protocol error: the peers do not speak the same protocol
  1003: 'stop', // unsupported data
  1005: 'retry', // closed without a status
  1006: 'retry', // dropped without a close frame
  1007: 'stop', // invalid payload data
  [CloseCode.PolicyViolation]: 'stop',
  [CloseCode.MessageTooBig]: 'retry', // sizes are checked before sending, so this was a one-off
  [CloseCode.InternalError]: 'retry',
  1012: 'retry', // service restart
  [CloseCode.TryAgainLater]: 'retry',
  1014: 'retry', // bad gateway
  [CloseCode.BadInput]: 'stop',
  [CloseCode.Unauthorized]: 'reauth',
  [CloseCode.Forbidden]: 'stop',
  [CloseCode.AuthTimeout]: 'retry',
  [CloseCode.RateLimited]: 'retry',
};

/** A refused upgrade (Node only), by HTTP status. */
const HTTP_POLICY: Readonly<Record<number, CloseAction>> = {
  400: 'stop',
  401: 'reauth',
  403: 'stop',
  404: 'stop',
  426: 'stop',
  429: 'retry',
  503: 'retry',
};

export interface CloseDecision {
  action: CloseAction;
  /** The least time to wait before the next attempt. */
  retryAfterMs: number;
}

/** True for a wsguard code whose close makes the client stop (e.g. `WSG_ANOMALY`, 1008). */
export function stopsClient(code: string): boolean {
  const info = (ErrorCodes as Record<string, ErrorCodeInfo | undefined>)[code];
  return info?.closes === true && closeAction({ code: info.closeCode }) === 'stop';
}

/** Unlisted codes: 4xxx are application codes that wsguard does not send, so stop; others retry. */
export function closeAction(info: Pick<CloseInfo, 'code' | 'httpStatus'>): CloseAction {
  if (info.httpStatus !== undefined) {
    return HTTP_POLICY[info.httpStatus] ?? (info.httpStatus >= 500 ? 'retry' : 'stop');
  }
  return CLOSE_POLICY[info.code] ?? (info.code >= 4000 && info.code <= 4999 ? 'stop' : 'retry');
}

export function decideClose(
  info: CloseInfo,
  shouldReconnect: ((info: CloseInfo) => boolean | undefined) | undefined,
): CloseDecision {
  let action = closeAction(info);
  const override = shouldReconnect?.(info);
  if (override === true && action === 'stop') action = 'retry';
  if (override === false) action = 'stop';
  return { action, retryAfterMs: info.retryAfterMs ?? 0 };
}

/** Reads the wsguard code and retry-after from a close reason into `info`. */
export function withReason(info: CloseInfo): CloseInfo {
  const parsed = parseCloseReason(info.reason);
  if (parsed.code !== undefined) info.errorCode = parsed.code;
  if (parsed.retryAfterMs !== undefined) info.retryAfterMs = parsed.retryAfterMs;
  const retryAfterMs = clampRetryAfter(info.retryAfterMs, BOUNDS.maxReconnectRetryAfterMs);
  if (retryAfterMs === undefined) delete info.retryAfterMs;
  else info.retryAfterMs = retryAfterMs;
  return info;
}

/** What the client does after a connection (or an attempt) ended. */
export type NextAction =
  /** Dial again after `delayMs`. */
  | 'reconnect'
  /** Dial again after `delayMs` with a fresh token; the next refusal stops. */
  | 'reauth'
  /** Stop for good. */
  | 'stop';

/** What the decision needs to remember between closes. */
export interface CloseState {
  /** Failed attempts in a row before this close. */
  attempts: number;
  /** A refused token already got its one fresh retry. */
  authRetried: boolean;
  /** How long the connection that ended was open (authenticated); undefined if it never was. */
  uptimeMs: number | undefined;
  /** The server's own words when it refused the token, if it sent any. */
  authError: AuthError | undefined;
}

/** The reconnect settings the decision reads; `false` never reconnects. */
export interface CloseConfig {
  reconnect: (BackoffOptions & { maxRetries: number; minUptimeMs: number }) | false;
  backoff: BackoffOptions;
  shouldReconnect: ((info: CloseInfo) => boolean | undefined) | undefined;
  random: () => number;
}

export interface NextStep {
  action: NextAction;
  /** Wait before the next dial; 0 when stopping. */
  delayMs: number;
  /** The server's retry-after: no dial before it has passed, whatever wakes the client. */
  retryAfterMs: number;
  /** Why the client stops, when it stops on its own (undefined for a close 1000). */
  error: Error | undefined;
  /** The close as reported (its `attempt` is 0 when the connection had stayed up long enough). */
  info: CloseInfo;
  /** The state to keep for the next close. */
  attempts: number;
  authRetried: boolean;
}

/**
 * The next step after a close or a refused connection, decided from the close and what the
 * client remembers: the close-code table, `shouldReconnect`, the one re-auth, `maxRetries`,
 * the backoff and the server's retry-after. Touches nothing: the caller applies the step.
 */
export function nextStep(info: CloseInfo, state: CloseState, config: CloseConfig): NextStep {
  const { reconnect } = config;
  let attempts = state.attempts;
  let authRetried = state.authRetried;
  let seen = info;
  // A connection that stayed up long enough ends the run of failures.
  if (state.uptimeMs !== undefined && state.uptimeMs >= (reconnect === false ? 0 : reconnect.minUptimeMs)) {
    attempts = 0;
    seen = { ...info, attempt: 0 };
  }
  // The one fresh-token retry is not earned back by an `auth_ok` alone (a server could answer
  // every connect with one and refuse the next refresh), only by a connection that lasted.
  if (state.uptimeMs !== undefined && state.uptimeMs >= BOUNDS.reauthResetUptimeMs) authRetried = false;
  const decision: CloseDecision =
    reconnect === false ? { action: 'stop', retryAfterMs: 0 } : decideClose(seen, config.shouldReconnect);
  let action = decision.action;
  let error: Error | undefined;
  if (action === 'reauth') {
    if (authRetried) action = 'stop';
    else authRetried = true;
  }
  if (action !== 'stop' && reconnect !== false) {
    attempts++;
    if (attempts > reconnect.maxRetries) {
      action = 'stop';
      error = new ConnectionError(`gave up after ${reconnect.maxRetries} reconnect attempts`);
    }
  }
  const base = { retryAfterMs: decision.retryAfterMs, info: seen, attempts, authRetried };
  if (action === 'stop') {
    const authRefused = info.code === 4401 || info.httpStatus === 401 || info.cause === 'refresh-failed';
    if (!error && authRefused) {
      error =
        state.authError ?? new AuthError('the server refused the token', info.errorCode ?? 'WSG_AUTH_FAILED');
    } else if (!error && info.errorCode === 'WSG_ANOMALY') {
      error = new ConnectionError(
        `the server closed the connection as abusive (close ${info.code} WSG_ANOMALY): too many refused messages; ` +
          'the client does not reconnect on its own',
      );
    } else if (!error && info.code !== 1000) {
      const what = info.httpStatus !== undefined ? `HTTP ${info.httpStatus}` : `close ${info.code}`;
      error = new ConnectionError(
        `the server ended the connection for good (${what} ${info.errorCode ?? ''})`.trim(),
      );
    }
    return { ...base, action: 'stop', delayMs: 0, error };
  }
  // Every failure path waits out the backoff, a failed refresh too: a server that refuses every
  // refresh would otherwise drive a reconnect (and getToken()) storm.
  const delayMs = Math.max(backoffDelay(attempts - 1, config.backoff, config.random), decision.retryAfterMs);
  return { ...base, action: action === 'reauth' ? 'reauth' : 'reconnect', delayMs, error: undefined };
}

/** A socket's close as the client reports it; a 4401 while refreshing is the refresh failing. */
export function closeInfoOf(t: TransportClose, attempt: number, refreshing: boolean): CloseInfo {
  const info: CloseInfo = {
    code: t.code,
    reason: t.reason,
    cause: t.code === 1006 || t.httpStatus !== undefined ? 'network' : 'server',
    attempt,
  };
  if (t.httpStatus !== undefined) info.httpStatus = t.httpStatus;
  if (t.retryAfterMs !== undefined) info.retryAfterMs = t.retryAfterMs;
  withReason(info);
  if (refreshing && t.code === 4401) info.cause = 'refresh-failed';
  return info;
}

/**
 * What the client remembers between closes (failed attempts in a row, the one fresh-token
 * retry, the server's words when it refused a token), and the next step decided from it.
 */
export interface CloseLedger {
  /** Failed attempts in a row. */
  readonly attempts: number;
  /** The server refused the token while authenticating; the close that follows reports this. */
  authRefused(error: AuthError): void;
  /** `auth_ok` arrived: an earlier refusal's words no longer apply (the one retry stays spent). */
  authenticated(): void;
  /** A refresh succeeded: the server took a fresh token, so a later refusal earns its retry again. */
  refreshed(): void;
  /** Decides (and remembers) the next step after `closed`; `uptimeMs` if the connection was open. */
  next(closed: CloseInfo, uptimeMs: number | undefined, config: CloseConfig): NextStep;
}

export function createCloseLedger(): CloseLedger {
  let state: CloseState = { attempts: 0, authRetried: false, uptimeMs: undefined, authError: undefined };
  return {
    get attempts() {
      return state.attempts;
    },
    authRefused(error) {
      state.authError = error;
    },
    authenticated() {
      state.authError = undefined;
    },
    refreshed() {
      state.authRetried = false;
    },
    next(closed, uptimeMs, config) {
      const step = nextStep(closed, { ...state, uptimeMs }, config);
      state = { ...state, attempts: step.attempts, authRetried: step.authRetried };
      return step;
    },
  };
}
