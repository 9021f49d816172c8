import type { Sockets } from './connection/registry.js';
import type { EventBus } from './events.js';
import { eventFrame } from './pipeline/frames.js';
import type { PubSub } from './stores/types.js';

/** Broadcasts go through the store's pub/sub, so every node sharing it delivers them. */
export const BROADCAST_CHANNEL = 'wsguard:broadcast';

export interface Broadcast {
  /** Sends an application event to every authenticated socket, on every node. */
  send(type: string, payload: unknown): void;
  /** Stops delivering (shutdown). */
  close(): void;
}

export function createBroadcast(store: PubSub, sockets: Sockets, events: EventBus): Broadcast {
  const close = store.subscribe(BROADCAST_CHANNEL, (frame) => {
    for (const c of sockets.authenticated) c.sendFrame(frame);
  });
  return {
    send(type, payload) {
      void Promise.resolve(store.publish(BROADCAST_CHANNEL, eventFrame(type, payload))).catch((err) =>
        events.emit({
          event: 'handler.error',
          level: 'error',
          code: 'WSG_INTERNAL',
          detail: `broadcast: ${String(err)}`,
        }),
      );
    },
    close,
  };
}
