import type { PubSub } from '../types.js';
import type { RedisLink } from './link.js';

/**
 * Channels over Redis pub/sub, so a revocation or broadcast on one node reaches every node.
 * A publish while Redis is down reaches this node's listeners only (fail open) or is refused
 * (fail closed).
 */
export function createRedisPubSub(link: RedisLink): PubSub & {
  onResubscribed(listener: () => void): () => void;
  /** Resolves once every subscription made so far is confirmed by Redis. */
  confirmedAll(): Promise<void>;
} {
  const { client, subscriber, prefix } = link;
  const channels = new Map<string, Set<(message: string) => void>>();
  /** The SUBSCRIBE in flight or done per channel; settles either way (an outage is the status's to tell). */
  const confirmed = new Map<string, Promise<void>>();
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

  // A PING on the subscriber connection is answered after every SUBSCRIBE sent before it (ioredis
  // sends its re-subscriptions before it reports the connection ready): once it is back, this
  // process hears every channel again, and what was published before may have been missed.
  const resubscribed = new Set<() => void>();
  let ups = 0;
  const confirmedAll = async () => {
    await Promise.all(confirmed.values());
    await subscriber.ping();
  };
  link.onUp(() => {
    const up = ++ups;
    confirmedAll().then(
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
      // Down again before the answer: the next up tells.
      () => {},
    );
  });

  return {
    confirmedAll,
    onResubscribed(listener) {
      resubscribed.add(listener);
      return () => resubscribed.delete(listener);
    },
    whenSubscribed: (channel) => confirmed.get(prefix + channel) ?? Promise.resolve(),
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
        // Failure here is an outage the status reports; ioredis subscribes again on reconnect.
        confirmed.set(
          full,
          subscriber.subscribe(full).then(
            () => {},
            () => {},
          ),
        );
      }
      set.add(listener);
      return () => {
        set.delete(listener);
        if (set.size === 0) {
          channels.delete(full);
          confirmed.delete(full);
          subscriber.unsubscribe(full).catch(() => {});
        }
      };
    },
  };
}
