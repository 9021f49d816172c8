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
  /**
   * Resolves once both connections are ready and Redis has confirmed every subscription made so
   * far (or rejects after `timeoutMs`): from then on, every publication reaches this process.
   */
  ready(timeoutMs?: number): Promise<void>;
  onStatus(listener: StatusListener): () => void;
  onResubscribed(listener: () => void): () => void;
}

/**
 * The store for more than one process: limits, blocks, sessions and revocations in Redis
 * (atomic Lua scripts, every key with a TTL), revocation and broadcast over Redis pub/sub.
 */
export function redisStore(options: RedisStoreOptions = {}): RedisStore {
  const now = options.now ?? Date.now;
  const link = createRedisLink(options);
  const { confirmedAll, ...pubsub } = createRedisPubSub(link);
  return {
    kind: 'redis',
    failMode: link.failMode,
    ...createRedisLimits(link, now, options.lease ?? {}),
    ...createRedisSessions(link, now),
    ...pubsub,
    ...createRedisChannelState(link, options.historyMaxBytes ?? 64 * 1024 * 1024),
    status: link.status,
    onStatus: link.onStatus,
    ready(timeoutMs = 5000) {
      let poll: NodeJS.Timeout | undefined;
      let timer: NodeJS.Timeout | undefined;
      const up = new Promise<void>((resolve) => {
        const check = () => {
          if (link.status() !== 'ok') return;
          clearInterval(poll);
          resolve();
        };
        poll = setInterval(check, 10);
        check();
      }).then(confirmedAll);
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`wsguard: Redis not ready after ${timeoutMs} ms`)),
          timeoutMs,
        );
      });
      return Promise.race([up, late]).finally(() => {
        clearInterval(poll);
        clearTimeout(timer);
      });
    },
    close: link.close,
  };
}
