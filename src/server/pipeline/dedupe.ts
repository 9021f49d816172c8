/**
 * Recent message ids per user, so that a message resent after a reconnect (same id, new
 * socket) is acked again and not handled again. Ids are the client's random keys, so keying
 * by user is enough to keep users apart.
 */
export interface DedupeCache {
  /** The reply already sent (or on its way) for this id, if the id was seen. */
  get(userId: string, id: string): string | Promise<string> | undefined;
  set(userId: string, id: string, reply: string | Promise<string>): void;
  /** Forget users idle longer than `ttlMs` (called on a timer). */
  sweep(now: number): void;
  readonly users: number;
}

interface Window {
  replies: Map<string, string | Promise<string>>;
  lastUsed: number;
}

export function createDedupeCache(options: {
  window: number;
  ttlMs: number;
  maxUsers: number;
  now?: () => number;
}): DedupeCache {
  const { window, ttlMs, maxUsers } = options;
  const now = options.now ?? Date.now;
  const byUser = new Map<string, Window>();
  return {
    get(userId, id) {
      if (window === 0) return undefined;
      return byUser.get(userId)?.replies.get(id);
    },
    set(userId, id, reply) {
      if (window === 0) return;
      let w = byUser.get(userId);
      if (!w) {
        if (byUser.size >= maxUsers) {
          const oldest = byUser.keys().next().value;
          if (oldest !== undefined) byUser.delete(oldest);
        }
        w = { replies: new Map(), lastUsed: 0 };
        byUser.set(userId, w);
      }
      w.lastUsed = now();
      w.replies.set(id, reply);
      if (w.replies.size > window) {
        const first = w.replies.keys().next().value;
        if (first !== undefined) w.replies.delete(first);
      }
    },
    sweep(t) {
      for (const [user, w] of byUser) if (t - w.lastUsed > ttlMs) byUser.delete(user);
    },
    get users() {
      return byUser.size;
    },
  };
}
