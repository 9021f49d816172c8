/**
 * The Store: the state that must be shared when there is more than one process. The memory
 * store answers synchronously (values, not promises) so the hot path pays no microtask; the
 * Redis store answers with promises. Callers accept both (MaybePromise).
 *
 * Every record has a TTL: nothing a store holds lives forever.
 */
export type MaybePromise<T> = T | Promise<T>;

// ---- rate limiting ----

/**
 * A BucketRate as the store contract spells it (custom stores implement this shape): made from
 * the options once, at setup, by toBucketSpec() in limits/token-bucket.ts.
 */
export interface BucketSpec {
  /** Most tokens the bucket holds (the burst). */
  capacity: number;
  /** Tokens added per second. */
  refillPerSec: number;
}

export interface TakeResult {
  allowed: boolean;
  /** Tokens left after this take (0 when refused). */
  remaining: number;
  /** When refused: how long until `cost` tokens are there. 0 when allowed. */
  retryAfterMs: number;
}

/** A block on a key (user or IP) from the penalty ladder, or an IP ban. */
export interface BlockRecord {
  /** Ms since the epoch when the block ends. */
  until: number;
  /** How many blocks this key has had in the offence window (1 for the first). */
  level: number;
  /** Short code of why (an ErrorCode). */
  reason: string;
}

export interface LimitStore {
  /** Atomically takes `cost` tokens from the bucket at `key` (created full). */
  take(key: string, spec: BucketSpec, cost: number): MaybePromise<TakeResult>;
  /** Adds one to a fixed-window counter and returns the count in the window. */
  hit(key: string, windowMs: number): MaybePromise<number>;
  /** Concurrent-use counters (sockets per IP or user). `ttlMs` bounds a leaked count. */
  acquire(key: string, ttlMs: number): MaybePromise<number>;
  release(key: string): MaybePromise<void>;
  getBlock(key: string): MaybePromise<BlockRecord | undefined>;
  setBlock(key: string, block: BlockRecord): MaybePromise<void>;
  /** Records an offence and returns how many this key has within `windowMs`. */
  offend(key: string, windowMs: number): MaybePromise<number>;
}

// ---- sessions and revocation ----

export interface SessionRecord {
  id: string;
  userId: string;
  csrfToken: string;
  createdAt: number;
  lastActiveAt: number;
  expiresAt: number;
  /** The JWT id of the token that opened or last refreshed the session. */
  jti?: string;
  /**
   * Every token that opened or refreshed the session (Principal.tokenId) with its expiry, so
   * revoking the session refuses each of them until it expires; at most 64, oldest dropped.
   */
  tokens?: { id: string; until: number }[];
}

export type RevocationKind = 'session' | 'user' | 'token';

export interface SessionStore {
  putSession(session: SessionRecord): MaybePromise<void>;
  getSession(id: string): MaybePromise<SessionRecord | undefined>;
  deleteSession(id: string): MaybePromise<void>;
  /** Marks a session, user or token id revoked until `until` (ms since the epoch). */
  revoke(kind: RevocationKind, id: string, until: number): MaybePromise<void>;
  /** The time a revocation ends, or undefined when not revoked. */
  revokedUntil(kind: RevocationKind, id: string): MaybePromise<number | undefined>;
}

// ---- cross-process messages ----

export interface PubSub {
  publish(channel: string, message: string): MaybePromise<void>;
  /** Returns the function that unsubscribes. */
  subscribe(channel: string, listener: (message: string) => void): () => void;
  /**
   * Resolves once this process hears `channel` (a shared backend confirmed the subscription), so
   * a subscribe is acked only when the next publication on any node will reach it. Stores that
   * hear at once leave it out.
   */
  whenSubscribed?(channel: string): Promise<void>;
}

export type StoreStatus = 'ok' | 'degraded';

export interface Store extends LimitStore, SessionStore, PubSub {
  /** 'memory', 'redis', ... for /healthz and logs. */
  readonly kind: string;
  /** 'degraded' while a shared backend is unreachable and local fallback is in use. */
  status(): StoreStatus;
  /**
   * Tells each change of `status()` as it happens (the guard logs `store.degraded` and
   * `store.recovered`). Stores that cannot change status leave it out.
   */
  onStatus?(listener: (status: StoreStatus, detail: string | undefined) => void): () => void;
  close(): Promise<void>;
}
