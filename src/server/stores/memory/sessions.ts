import type { RevocationKind, SessionRecord, SessionStore } from '../types.js';

export interface MemorySessionsOptions {
  /** Clock, injectable for tests. @default Date.now */
  now?: () => number;
}

/**
 * Sessions are kept until they expire (closed ones too: a later revokeSession needs their
 * tokens), so the map is capped: past MAX_SESSIONS the oldest written is dropped.
 */
const MAX_SESSIONS = 100_000;
export function createMemorySessions(options: MemorySessionsOptions = {}): SessionStore {
  const now = options.now ?? Date.now;
  const sessions = new Map<string, SessionRecord>();
  const revoked = new Map<string, number>();
  return {
    putSession(s) {
      sessions.delete(s.id);
      if (sessions.size >= MAX_SESSIONS) {
        const oldest = sessions.keys().next().value;
        if (oldest !== undefined) sessions.delete(oldest);
      }
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
