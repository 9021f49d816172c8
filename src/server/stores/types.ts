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
  /**
   * Hears every time this process's subscriptions are confirmed after a time it could miss
   * publications: once after start, after each reconnect, and after an outage of its publishing
   * side. Listeners check again what a missed message would have changed and send again what
   * they could not publish. Stores that never miss a publication leave it out.
   */
  onResubscribed?(listener: () => void): () => void;
}

// ---- channel history and presence ----

/** Where a channel's stream stands: `epoch` names one unbroken history, `offset` counts its publications. */
export interface HistoryPosition {
  epoch: string;
  offset: number;
}

/** The bounds of one channel's history (from the channel's `history` option). */
export interface HistoryLimits {
  /** Most publications kept. */
  size: number;
  /** How long a publication is kept, ms. */
  ttlMs: number;
  /** Most bytes of publications kept for this channel. */
  maxBytes: number;
}

export interface HistoryRead extends HistoryPosition {
  /**
   * The publication frames after the offset asked for, oldest first; undefined when the gap can
   * not be filled (the epoch differs, or entries after that offset are gone).
   */
  frames: string[] | undefined;
}

export interface HistoryStore {
  /**
   * Gives the publication the channel's next offset, keeps it, and publishes the finished frame
   * (`body` + `,"offset":N,"epoch":"E"}`, see historyFrame) on `pubsubChannel`, in one step: every
   * node sees a channel's publications in offset order.
   */
  append(
    channel: string,
    pubsubChannel: string,
    body: string,
    limits: HistoryLimits,
  ): MaybePromise<HistoryPosition>;
  /** The current position and, with `since`, what came after it. */
  read(channel: string, since: HistoryPosition | undefined, limits: HistoryLimits): MaybePromise<HistoryRead>;
}

export interface PresenceStore {
  /** Marks `userId` present on `channel` through `nodeId` for `ttlMs`; true when it was on no node before. */
  presenceAdd(channel: string, userId: string, nodeId: string, ttlMs: number): MaybePromise<boolean>;
  /** Takes `nodeId`'s mark away; true when the user is now on no node. */
  presenceRemove(channel: string, userId: string, nodeId: string): MaybePromise<boolean>;
  /** Renews `nodeId`'s marks for `userIds` and drops every expired mark: the users that left. */
  presenceRefresh(channel: string, userIds: string[], nodeId: string, ttlMs: number): MaybePromise<string[]>;
  /** How many users are present, and up to `max` of them. */
  presenceGet(channel: string, max: number): MaybePromise<{ count: number; members: string[] }>;
}

export type StoreStatus = 'ok' | 'degraded';

export interface Store extends LimitStore, SessionStore, PubSub {
  /** Channel history for recovery; a store without it cannot serve channels with `history`. */
  history?: HistoryStore;
  /** Channel presence; a store without it cannot serve channels with `presence`. */
  presence?: PresenceStore;
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
