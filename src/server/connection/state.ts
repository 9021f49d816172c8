/**
 * The per-socket record and each feature's per-socket state, as plain types. This file imports
 * nothing: the pipeline, the limiters and the scorer all read these shapes, so keeping them here
 * (not in the feature modules) is what keeps the import graph free of cycles.
 */

/**
 * Who a token belongs to, as the verifier found it. `C` types the claims: a verifier returning
 * `Principal<{ role?: string }>` makes `ctx.user.claims.role` typed in every handler.
 */
export interface Principal<C extends object = Record<string, unknown>> {
  /** Stable user id (the JWT `sub` by default). */
  id: string;
  /** Verified claims, for handlers. */
  claims?: C;
  /** Token expiry, ms since the epoch; the session never outlives it. */
  expiresAt?: number;
  /** Token id (JWT `jti`), used for revocation. */
  jti?: string;
  /**
   * What revocation knows the token by: its `jti`, else a SHA-256 fingerprint of the token
   * (set by the verifier), so a token without `jti` can be refused too.
   */
  tokenId?: string;
}

/** A token bucket's state: plain numbers, kept on the socket (local) or in a store entry. */
export interface Bucket {
  tokens: number;
  /** When `tokens` was last brought up to date, ms. */
  at: number;
}

/** Per-socket limiter state (limits/socket-rate.ts), kept on the connection: no lookup per message. */
export interface SocketRateState {
  messages: Bucket | undefined;
  bytes: Bucket | undefined;
  /** The user's bucket key in the store (limits/user-rate.ts), built at the socket's first message. */
  userKey: string | undefined;
}

/** A decaying score: `value` as of time `at`, halving every half-life (anomaly/score.ts). */
export interface Score {
  value: number;
  at: number;
  /** Highest threshold index crossed and not yet decayed below (-1: none). */
  level: number;
}

/** Per-socket anomaly score and burst baseline (anomaly/index.ts). */
export interface SocketAnomalyState {
  score: Score;
  windowStart: number;
  windowCount: number;
  /** Moving average of messages per second. */
  baseline: number;
  burstFlagged: boolean;
}

/** Refusals in the current strike window (limits/penalties.ts); `count` is -1 once escalated. */
export interface StrikeState {
  start: number;
  count: number;
}

/** What every pipeline stage of one socket can read about it. */
export interface ConnectionInfo {
  readonly connectionId: string;
  readonly ip: string;
  readonly user: Principal | undefined;
  readonly sessionId: string | undefined;
  readonly csrfToken: string | undefined;
  rate: SocketRateState | undefined;
  anomaly: SocketAnomalyState | undefined;
  strikes: StrikeState | undefined;
}
