import type { RevocationKind, SessionRecord, SessionStore } from '../types.js';

export interface MemorySessionsOptions {
  /** Clock, injectable for tests. @default Date.now */
  now?: () => number;
}

// Placeholder owned by the sessions work: correct but unbounded, expiry checked on read.
export function createMemorySessions(options: MemorySessionsOptions = {}): SessionStore {
  const now = options.now ?? Date.now;
  const sessions = new Map<string, SessionRecord>();
  const revoked = new Map<string, number>();
  return {
    putSession(s) {
      sessions.set(s.id, { ...s });
    },
    getSession(id) {
      const s = sessions.get(id);
      if (s && s.expiresAt <= now()) {
        sessions.delete(id);
        return undefined;
      }
      return s ? { ...s } : undefined;
    },
    deleteSession(id) {
      sessions.delete(id);
    },
    revoke(kind: RevocationKind, id, until) {
      revoked.set(`${kind}:${id}`, until);
    },
    revokedUntil(kind: RevocationKind, id) {
      const key = `${kind}:${id}`;
      const until = revoked.get(key);
      if (until !== undefined && until <= now()) {
        revoked.delete(key);
        return undefined;
      }
      return until;
    },
  };
}
