import type { Store } from '../types.js';
import { createMemoryLimits, type MemoryLimitsOptions } from './limits.js';
import { createMemoryPubSub } from './pubsub.js';
import { createMemorySessions, type MemorySessionsOptions } from './sessions.js';

export interface MemoryStoreOptions extends MemoryLimitsOptions, MemorySessionsOptions {}

/** The default store: everything in this process. For more than one process use redisStore(). */
export function memoryStore(options: MemoryStoreOptions = {}): Store {
  return {
    kind: 'memory',
    ...createMemoryLimits(options),
    ...createMemorySessions(options),
    ...createMemoryPubSub(),
    status: () => 'ok',
    close: async () => {},
  };
}
