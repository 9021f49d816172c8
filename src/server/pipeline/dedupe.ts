/**
 * Recent message ids per user, so that a message resent after a reconnect (same id, new
 * socket) is acked again and not handled again. Ids are the client's random keys, so keying
 * by user is enough to keep users apart.
 *
 * An id is only worth remembering while its client may still resend it: until the client's ack
 * timeout. So every id expires `ttlMs` after it was first seen, and the cache holds what was
 * handled in the last `ttlMs` (at most `window` ids per user), not the last `window` ids of
 * every user ever seen.
 */
export interface DedupeCache {
  /** The reply already sent (or on its way) for this id, if the id was seen within the TTL. */
  get(userId: string, id: string): string | Promise<string> | undefined;
  set(userId: string, id: string, reply: string | Promise<string>): void;
  /** Drops expired ids, and users with none left (called on a timer). */
  sweep(now: number): void;
  readonly users: number;
  /** Ids remembered now, over all users. */
  readonly size: number;
}

interface Entry {
  reply: string | Promise<string>;
  at: number;
}

export function createDedupeCache(options: {
  window: number;
  ttlMs: number;
  maxUsers: number;
  now?: () => number;
}): DedupeCache {
  const { window, ttlMs, maxUsers } = options;
  const now = options.now ?? Date.now;
  // Insertion order is first-seen order, in each user's map and in the map of users (a user
  // moves to the end on every new id), so expired ids are always at the front.
  const byUser = new Map<string, Map<string, Entry>>();
  let size = 0;

  const expire = (user: string, ids: Map<string, Entry>, t: number) => {
    for (const [id, e] of ids) {
      if (t - e.at < ttlMs) break;
      ids.delete(id);
      size--;
    }
    if (ids.size === 0) byUser.delete(user);
  };

  return {
    get(userId, id) {
      if (window === 0) return undefined;
      const e = byUser.get(userId)?.get(id);
      return e !== undefined && now() - e.at < ttlMs ? e.reply : undefined;
    },
    set(userId, id, reply) {
      if (window === 0) return;
      const t = now();
      let ids = byUser.get(userId);
      if (ids) byUser.delete(userId);
      else {
        if (byUser.size >= maxUsers) {
          const oldest = byUser.entries().next().value;
          if (oldest !== undefined) {
            byUser.delete(oldest[0]);
            size -= oldest[1].size;
          }
        }
        ids = new Map();
      }
      byUser.set(userId, ids);
      const had = ids.delete(id);
      ids.set(id, { reply, at: t });
      if (!had) size++;
      if (ids.size > window) {
        const first = ids.keys().next().value;
        if (first !== undefined) {
          ids.delete(first);
          size--;
        }
      }
      expire(userId, ids, t);
    },
    sweep(t) {
      for (const [user, ids] of byUser) expire(user, ids, t);
    },
    get users() {
      return byUser.size;
    },
    get size() {
      return size;
    },
  };
}
