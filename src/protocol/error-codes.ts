import { CloseCode, HttpStatus } from './close-codes.js';

/** What a peer sees for one error code. */
export interface ErrorCodeInfo {
  /** Short, safe text sent on the wire. Never an internal detail. */
  readonly message: string;
  /** The close code used when this error ends the socket. */
  readonly closeCode: CloseCode;
  /** Whether this error ends the socket by itself (otherwise it is an `error` reply). */
  readonly closes: boolean;
  /** The HTTP status when the upgrade gate refuses with this code, if it can. */
  readonly httpStatus?: HttpStatus;
  /**
   * As an `error` reply: the message was refused before any handler ran, for a passing reason;
   * the client resends the same `id` after `retryAfterMs`. Other refusals are final for that message.
   */
  readonly retryable?: boolean;
}

/**
 * The error-code registry. Codes are stable: never renamed, never reused.
 * `docs/PROTOCOL.md` lists every one (a test checks it).
 */
export const ErrorCodes = {
  WSG_AUTH_REQUIRED: {
    message: 'Authentication required',
    closeCode: CloseCode.Unauthorized,
    closes: true,
    httpStatus: HttpStatus.Unauthorized,
  },
  WSG_AUTH_FAILED: {
    message: 'Authentication failed',
    closeCode: CloseCode.Unauthorized,
    closes: true,
    httpStatus: HttpStatus.Unauthorized,
  },
  WSG_AUTH_TIMEOUT: { message: 'Authentication timed out', closeCode: CloseCode.AuthTimeout, closes: true },
  WSG_SESSION_EXPIRED: { message: 'Session expired', closeCode: CloseCode.Unauthorized, closes: true },
  WSG_SESSION_REVOKED: {
    message: 'Session revoked',
    closeCode: CloseCode.Forbidden,
    closes: true,
    httpStatus: HttpStatus.Forbidden,
  },
  WSG_ORIGIN_FORBIDDEN: {
    message: 'Origin not allowed',
    closeCode: CloseCode.PolicyViolation,
    closes: true,
    httpStatus: HttpStatus.Forbidden,
  },
  WSG_TLS_REQUIRED: {
    message: 'TLS required',
    closeCode: CloseCode.PolicyViolation,
    closes: true,
    httpStatus: HttpStatus.UpgradeRequired,
  },
  WSG_BAD_REQUEST: {
    message: 'Bad request',
    closeCode: CloseCode.BadInput,
    closes: true,
    httpStatus: HttpStatus.BadRequest,
  },
  WSG_MESSAGE_TOO_LARGE: { message: 'Message too large', closeCode: CloseCode.MessageTooBig, closes: true },
  WSG_BINARY_NOT_ALLOWED: {
    message: 'Binary messages not allowed',
    closeCode: CloseCode.BadInput,
    closes: false,
  },
  WSG_INVALID_JSON: { message: 'Invalid JSON', closeCode: CloseCode.BadInput, closes: false },
  WSG_UNSAFE_JSON: { message: 'Unsafe JSON', closeCode: CloseCode.BadInput, closes: false },
  WSG_INVALID_MESSAGE: { message: 'Invalid message', closeCode: CloseCode.BadInput, closes: false },
  WSG_UNKNOWN_TYPE: { message: 'Unknown message type', closeCode: CloseCode.BadInput, closes: false },
  WSG_VALIDATION_FAILED: { message: 'Validation failed', closeCode: CloseCode.BadInput, closes: false },
  WSG_CSRF_INVALID: { message: 'Invalid CSRF token', closeCode: CloseCode.PolicyViolation, closes: false },
  WSG_RATE_LIMITED: {
    message: 'Rate limited',
    closeCode: CloseCode.RateLimited,
    closes: false,
    httpStatus: HttpStatus.TooManyRequests,
    retryable: true,
  },
  WSG_BLOCKED: {
    message: 'Blocked',
    closeCode: CloseCode.RateLimited,
    closes: true,
    httpStatus: HttpStatus.TooManyRequests,
  },
  WSG_TOO_MANY_CONNECTIONS: {
    message: 'Too many connections',
    closeCode: CloseCode.RateLimited,
    closes: true,
    httpStatus: HttpStatus.TooManyRequests,
  },
  WSG_BANNED: {
    message: 'Banned',
    closeCode: CloseCode.Forbidden,
    closes: true,
    httpStatus: HttpStatus.Forbidden,
  },
  WSG_ANOMALY: { message: 'Anomalous behaviour', closeCode: CloseCode.PolicyViolation, closes: true },
  WSG_OVERLOADED: {
    message: 'Server overloaded',
    closeCode: CloseCode.TryAgainLater,
    closes: true,
    httpStatus: HttpStatus.ServiceUnavailable,
    retryable: true,
  },
  WSG_SHUTTING_DOWN: { message: 'Server shutting down', closeCode: CloseCode.GoingAway, closes: true },
  WSG_HANDLER_TIMEOUT: {
    message: 'Handler timed out',
    closeCode: CloseCode.InternalError,
    closes: false,
  },
  WSG_RESULT_EXPIRED: {
    message: 'Already handled; result no longer kept',
    closeCode: CloseCode.BadInput,
    closes: false,
  },
  WSG_FORBIDDEN: { message: 'Forbidden', closeCode: CloseCode.Forbidden, closes: false },
  WSG_UNKNOWN_CHANNEL: { message: 'Unknown channel', closeCode: CloseCode.BadInput, closes: false },
  WSG_TOO_MANY_SUBSCRIPTIONS: {
    message: 'Too many subscriptions',
    closeCode: CloseCode.PolicyViolation,
    closes: false,
  },
  WSG_INTERNAL: {
    message: 'Internal error',
    closeCode: CloseCode.InternalError,
    closes: false,
    httpStatus: HttpStatus.InternalServerError,
  },
} as const satisfies Record<string, ErrorCodeInfo>;

export type ErrorCode = keyof typeof ErrorCodes;

export const errorCodeList = Object.keys(ErrorCodes) as ErrorCode[];

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ErrorCodes, value);
}

/**
 * Close reasons are a short code, plus `;retryAfterMs=N` when the client should wait.
 * Always well under the 123-byte limit of a close reason.
 */
export function formatCloseReason(code: ErrorCode, retryAfterMs?: number): string {
  return retryAfterMs === undefined ? code : `${code};retryAfterMs=${Math.ceil(retryAfterMs)}`;
}

export interface ParsedCloseReason {
  code?: ErrorCode;
  retryAfterMs?: number;
}

export function parseCloseReason(reason: string): ParsedCloseReason {
  const [head, ...params] = reason.split(';');
  const out: ParsedCloseReason = {};
  if (isErrorCode(head)) out.code = head;
  for (const p of params) {
    const m = /^retryAfterMs=(\d{1,12})$/.exec(p);
    if (m?.[1]) out.retryAfterMs = Number(m[1]);
  }
  return out;
}
