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
  readonly id: string;
  reply: string | Promise<string>;
  readonly at: number;
  /** Replaced by a newer entry for the same id (it stays in the queue until it reaches the front). */
  dead: boolean;
}

/**
 * One user's ids: an index by id, and the same entries in a queue in first-seen order, so the
 * oldest is found without a Map iterator. A message costs one index lookup and one insert; the
 * queue is an array with a moving head, compacted when the head has passed half of it.
 */
interface UserIds {
  readonly index: Map<string, Entry>;
  queue: Entry[];
  head: number;
}

export function createDedupeCache(options: {
  window: number;
  ttlMs: number;
  maxUsers: number;
  now?: () => number;
}): DedupeCache {
  const { window, ttlMs, maxUsers } = options;
  const now = options.now ?? Date.now;
  // The map of users is in least-recently-seen order (a user moves to the end on every new id),
  // so the user dropped at maxUsers is the one seen longest ago. The move is skipped when the
  // user is already last: a busy user's messages do not churn the map.
  const byUser = new Map<string, UserIds>();
  let last: string | undefined;
  let size = 0;

  const dropOldest = (ids: UserIds) => {
    while (ids.head < ids.queue.length) {
      const e = ids.queue[ids.head] as Entry;
      ids.queue[ids.head++] = undefined as unknown as Entry;
      if (!e.dead) {
        ids.index.delete(e.id);
        size--;
        break;
      }
    }
  };
  const compact = (ids: UserIds) => {
    if (ids.head >= 64 && ids.head * 2 >= ids.queue.length) {
      ids.queue = ids.queue.slice(ids.head);
      ids.head = 0;
    }
  };
  const forget = (user: string) => {
    byUser.delete(user);
    if (last === user) last = undefined;
  };
  const expire = (user: string, ids: UserIds, t: number) => {
    while (ids.head < ids.queue.length) {
      const e = ids.queue[ids.head] as Entry;
      if (!e.dead && t - e.at < ttlMs) break;
      dropOldest(ids);
    }
    compact(ids);
    if (ids.index.size === 0) forget(user);
  };

  return {
    get(userId, id) {
      if (window === 0) return undefined;
      const e = byUser.get(userId)?.index.get(id);
      return e !== undefined && now() - e.at < ttlMs ? e.reply : undefined;
    },
    set(userId, id, reply) {
      if (window === 0) return;
      const t = now();
      let ids = byUser.get(userId);
      if (ids) {
        if (last !== userId) {
          byUser.delete(userId);
          byUser.set(userId, ids);
        }
      } else {
        if (byUser.size >= maxUsers) {
          const oldest = byUser.entries().next().value;
          if (oldest !== undefined) {
            forget(oldest[0]);
            size -= oldest[1].index.size;
          }
        }
        ids = { index: new Map(), queue: [], head: 0 };
        byUser.set(userId, ids);
      }
      last = userId;
      const had = ids.index.get(id);
      if (had !== undefined) had.dead = true;
      else size++;
      const e: Entry = { id, reply, at: t, dead: false };
      ids.index.set(id, e);
      ids.queue.push(e);
      if (ids.index.size > window) dropOldest(ids);
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
