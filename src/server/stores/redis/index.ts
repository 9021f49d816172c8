import type { Store } from '../types.js';
import { createRedisChannelState } from './channel-state.js';
import { createRedisLimits } from './limits.js';
import { createRedisLink } from './link.js';
import type { RedisStoreOptions, StatusListener } from './options.js';
import { createRedisPubSub } from './pubsub.js';
import { createRedisSessions } from './sessions.js';

export type { FailMode, RedisClientLike, RedisStoreOptions } from './options.js';

export interface RedisStore extends Store {
  readonly kind: 'redis';
  readonly failMode: 'open' | 'closed';
  /** Resolves once both connections are ready (or rejects after `timeoutMs`). */
  ready(timeoutMs?: number): Promise<void>;
  onStatus(listener: StatusListener): () => void;
}

/**
 * The store for more than one process: limits, blocks, sessions and revocations in Redis
 * (atomic Lua scripts, every key with a TTL), revocation and broadcast over Redis pub/sub.
 */
export function redisStore(options: RedisStoreOptions = {}): RedisStore {
  const now = options.now ?? Date.now;
  const link = createRedisLink(options);
  return {
    kind: 'redis',
    failMode: link.failMode,
    ...createRedisLimits(link, now, options.lease ?? {}),
    ...createRedisSessions(link, now),
    ...createRedisPubSub(link),
    ...createRedisChannelState(link, options.historyMaxBytes ?? 64 * 1024 * 1024),
    status: link.status,
    onStatus: link.onStatus,
    ready(timeoutMs = 5000) {
      return new Promise<void>((resolve, reject) => {
        const check = () => {
          if (link.status() === 'ok') {
            clearInterval(poll);
            clearTimeout(timer);
            resolve();
          }
        };
        const poll = setInterval(check, 10);
        const timer = setTimeout(() => {
          clearInterval(poll);
          reject(new Error(`wsguard: Redis not ready after ${timeoutMs} ms`));
        }, timeoutMs);
        check();
      });
    },
    close: link.close,
  };
}
