export interface SessionOptions {
  /** Longest a session lives, whatever its tokens say; refresh cannot pass it. @default 86400000 (24 h) */
  maxAgeMs?: number;
  /** Close a session with no application message for this long (4401 WSG_SESSION_EXPIRED). @default 1800000 (30 min) */
  idleTimeoutMs?: number;
  /** Push `session_expiring` this long before expiry, so the client can `refresh`. @default 60000 */
  refreshWindowMs?: number;
  /** Give the session a new CSRF token on every refresh. @default false */
  rotateCsrfOnRefresh?: boolean;
  /** How often expiry and idle time are checked (one timer for all sockets). @default 1000 */
  checkIntervalMs?: number;
}

export type ResolvedSessionOptions = Required<SessionOptions>;
