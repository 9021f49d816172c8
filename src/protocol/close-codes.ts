/**
 * WebSocket close codes wsguard uses. 1xxx are RFC 6455 codes; 4xxx are wsguard's own.
 * Spelled only here: every other module imports them.
 */
export const CloseCode = {
  /** The server is shutting down or restarting; reconnect later. */
  GoingAway: 1001,
  /** Policy violation: anomaly threshold crossed, or a forbidden origin seen after upgrade. */
  PolicyViolation: 1008,
  /** A message larger than `maxPayload`. */
  MessageTooBig: 1009,
  /** An internal error the server could not recover from on this socket. */
  InternalError: 1011,
  /** Try again later: the server or the socket is overloaded (backpressure, store down). */
  TryAgainLater: 1013,
  /** Repeated malformed input. */
  BadInput: 4400,
  /** Authentication failed, was missing, or the session expired. */
  Unauthorized: 4401,
  /** Revoked, banned or forbidden: the client must not reconnect. */
  Forbidden: 4403,
  /** No `auth` message arrived within `authTimeoutMs`. */
  AuthTimeout: 4408,
  /** Rate limited or blocked; the reason carries `retryAfterMs`. */
  RateLimited: 4429,
} as const;

export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

/** HTTP statuses the upgrade gate answers with, before any socket exists. */
export const HttpStatus = {
  BadRequest: 400,
  Unauthorized: 401,
  Forbidden: 403,
  NotFound: 404,
  UpgradeRequired: 426,
  TooManyRequests: 429,
  InternalServerError: 500,
  ServiceUnavailable: 503,
} as const;

export type HttpStatus = (typeof HttpStatus)[keyof typeof HttpStatus];
