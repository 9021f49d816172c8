import type { PubSub } from '../types.js';
import type { RedisLink } from './link.js';

/** Channels per SUBSCRIBE when every channel is subscribed again. */
const RESUBSCRIBE_BATCH = 1000;
/** A catch-up SUBSCRIBE refused while the link stayed up is tried again after this, ms. */
const RETRY_MS = 1000;

/**
 * Channels over Redis pub/sub, so a revocation or broadcast on one node reaches every node.
 * A publish while Redis is down reaches this node's listeners only (fail open) or is refused
 * (fail closed).
 *
 * The channels this process listens to are kept here, not left to ioredis: ioredis subscribes
 * again after a reconnect only the channels whose SUBSCRIBE it saw succeed, and a SUBSCRIBE sent
 * during its connection handshake (a socket let in while Redis was still connecting) puts the
 * connection in subscriber mode, fails its ready check and rejects every SUBSCRIBE still queued:
 * those channels would stay deaf for good. So every time the link comes up, every channel is
 * subscribed again, and only then do listeners hear that they may have missed publications.
 */
export function createRedisPubSub(link: RedisLink): PubSub & {
  onResubscribed(listener: () => void): () => void;
  /** Resolves once Redis has confirmed every channel subscribed so far. */
  confirmedAll(): Promise<void>;
} {
  const { client, subscriber, prefix } = link;
  const channels = new Map<string, Set<(message: string) => void>>();
  /** Channels Redis has not confirmed yet, with what whenSubscribed hands out for each. */
  const unconfirmed = new Map<string, { promise: Promise<void>; resolve: () => void }>();
  const deliver = (full: string, message: string) => {
    const set = channels.get(full);
    if (!set) return;
    for (const l of set) {
      try {
        l(message);
      } catch {
        // One listener's failure must not keep the message from the others.
      }
    }
  };
  subscriber.on('message', deliver);

  const confirm = (list: string[]) => {
    for (const full of list) {
      if (!channels.has(full)) continue;
      unconfirmed.get(full)?.resolve();
      unconfirmed.delete(full);
    }
  };
  const send = async (list: string[]) => {
    for (let i = 0; i < list.length; i += RESUBSCRIBE_BATCH) {
      const batch = list.slice(i, i + RESUBSCRIBE_BATCH);
      await subscriber.subscribe(...batch);
      confirm(batch);
    }
  };

  const resubscribed = new Set<() => void>();
  let ups = 0;
  let retry: NodeJS.Timeout | undefined;
  const catchUp = (up: number) => {
    send([...channels.keys()]).then(
      () => {
        if (up !== ups || !link.usable()) return;
        for (const l of resubscribed) {
          try {
            l();
          } catch {
            // One listener's failure must not keep the others from catching up.
          }
        }
      },
      () => {
        // Down again: the next up does it. Refused while up: try again.
        clearTimeout(retry);
        retry = setTimeout(() => up === ups && link.usable() && catchUp(up), RETRY_MS);
        retry.unref();
      },
    );
  };
  link.onUp(() => catchUp(++ups));

  return {
    confirmedAll: async () => {
      await Promise.all([...unconfirmed.values()].map((u) => u.promise));
    },
    onResubscribed(listener) {
      resubscribed.add(listener);
      return () => resubscribed.delete(listener);
    },
    whenSubscribed: (channel) => unconfirmed.get(prefix + channel)?.promise ?? Promise.resolve(),
    publish(channel, message) {
      const full = prefix + channel;
      return link.run(
        async () => {
          await client.publish(full, message);
        },
        () => deliver(full, message),
      );
    },
    subscribe(channel, listener) {
      const full = prefix + channel;
      let set = channels.get(full);
      if (!set) {
        set = new Set();
        channels.set(full, set);
        let resolve: () => void = () => {};
        const promise = new Promise<void>((r) => {
          resolve = r;
        });
        unconfirmed.set(full, { promise, resolve });
        // Refused or lost: the next time the link comes up subscribes it again.
        send([full]).catch(() => {});
      }
      set.add(listener);
      return () => {
        set.delete(listener);
        if (set.size === 0) {
          channels.delete(full);
          unconfirmed.get(full)?.resolve();
          unconfirmed.delete(full);
          subscriber.unsubscribe(full).catch(() => {});
        }
      };
    },
  };
}
