import type { PubSub } from '../types.js';

/** In-process pub/sub: one process has no one else to tell, so publish calls local listeners. */
export function createMemoryPubSub(): PubSub {
  const channels = new Map<string, Set<(message: string) => void>>();
  return {
    publish(channel, message) {
      const listeners = channels.get(channel);
      if (!listeners) return;
      for (const l of listeners) l(message);
    },
    subscribe(channel, listener) {
      let set = channels.get(channel);
      if (!set) {
        set = new Set();
        channels.set(channel, set);
      }
      set.add(listener);
      return () => {
        set.delete(listener);
        if (set.size === 0) channels.delete(channel);
      };
    },
  };
}
