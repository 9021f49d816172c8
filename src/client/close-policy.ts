import { CloseCode, type ErrorCode, parseCloseReason } from '../protocol/index.js';

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
  return info;
}
