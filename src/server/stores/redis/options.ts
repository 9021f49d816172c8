import type { StoreStatus } from '../types.js';

/**
 * An ioredis `Redis` client (ioredis is an optional peer dependency, so its types are not
 * named here: the declarations must compile for apps that do not install it).
 */
export interface RedisClientLike {
  readonly status: string;
  duplicate(...args: never[]): unknown;
  defineCommand(...args: never[]): unknown;
}

export type StatusListener = (status: StoreStatus, detail: string | undefined) => void;

/** What the store does while Redis is unreachable or too slow. */
export type FailMode = 'open' | 'closed';

export interface RedisStoreOptions {
  /**
   * Redis URL (`redis://user:pass@host:6379/0`, `rediss://` for TLS). Ignored when `client` is given.
   * @default 'redis://127.0.0.1:6379'
   */
  url?: string;
  /**
   * An existing ioredis client to use instead of `url`. The store never closes it (it is yours),
   * and opens one duplicate of it for pub/sub. Give it `enableOfflineQueue: false` and a
   * `commandTimeout` so a slow Redis cannot stall the hot path; the clients the store makes
   * itself have both.
   */
  client?: RedisClientLike;
  /**
   * Put before every key and channel, so several apps (or environments) can share one Redis.
   * @default 'wsguard:'
   */
  prefix?: string;
  /**
   * `'open'`: while Redis is down every node keeps serving with limits, sessions and pub/sub
   * of its own (so a user may get up to N times a limit across N nodes, and sessions made
   * then resume only on the node that made them). `'closed'`: new connections are refused with
   * `WSG_OVERLOADED` (HTTP 503) and messages that need shared state are refused with it too.
   * @default 'open'
   */
  failMode?: FailMode;
  /**
   * Longest a command may take before it counts as failed (and the fail mode applies). Only
   * for clients the store makes from `url`.
   * @default 250
   */
  commandTimeoutMs?: number;
  /**
   * Extra ioredis options (its `RedisOptions`) for the clients made from `url` (TLS,
   * sentinels, password, ...).
   * @default {}
   */
  redisOptions?: Record<string, unknown>;
  /**
   * Local leases on shared token buckets: a node takes `ratio` of a bucket's burst (at most
   * `max` tokens, at least the message's cost) from Redis in one step and spends it locally,
   * so a busy user costs one Redis call per lease instead of one per message. Every token was
   * taken from Redis, and a lease ends when the shared bucket would be full again, so nobody
   * passes the burst; a user may be refused early by the tokens other nodes hold unspent, at
   * most (N - 1) x 2 leases across N nodes. `false` asks Redis for every message.
   * @default { ratio: 0.05, max: 1000 }
   */
  lease?: { ratio?: number; max?: number } | false;
  /**
   * Most bytes of channel history kept in Redis across all channels (each channel is also bounded
   * by its own `history` size and bytes); past it, whole logs go, the one closest to expiry first,
   * and their channels start a new epoch.
   * @default 67108864 (64 MiB)
   */
  historyMaxBytes?: number;
  /** Clock for the local fallback and caches, injectable for tests. @default Date.now */
  now?: () => number;
}
