import type { Store } from '../types.js';
import { createMemoryHistory, type MemoryHistoryOptions } from './history.js';
import { createMemoryLimits, type MemoryLimitsOptions } from './limits.js';
import { createMemoryPresence } from './presence.js';
import { createMemoryPubSub } from './pubsub.js';
import { createMemorySessions, type MemorySessionsOptions } from './sessions.js';

export interface MemoryStoreOptions
  extends MemoryLimitsOptions,
    MemorySessionsOptions,
    MemoryHistoryOptions {}

/** The default store: everything in this process. For more than one process use redisStore(). */
export function memoryStore(options: MemoryStoreOptions = {}): Store {
  const pubsub = createMemoryPubSub();
  return {
    kind: 'memory',
    ...createMemoryLimits(options),
    ...createMemorySessions(options),
    ...pubsub,
    history: createMemoryHistory(pubsub, options),
    presence: createMemoryPresence(options.now),
    status: () => 'ok',
    close: async () => {},
  };
}
