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

/**
 * A record as the map holds it, for as long as its socket is open and after: one object with
 * the common case of a single token in two fields. The record's own shape (a `tokens` array of
 * one `{ id, until }`) costs some 80 bytes more per session. `getSession` gives the record back
 * as it was put.
 */
class Kept {
  readonly id: string;
  readonly userId: string;
  readonly csrfToken: string;
  readonly createdAt: number;
  readonly lastActiveAt: number;
  readonly expiresAt: number;
  readonly jti: string | undefined;
  /** The single token's id, or undefined when `tokens` is absent or has another length. */
  readonly tokenId: string | undefined;
  readonly tokenUntil: number;
  /** `tokens` when it is not a single entry (absent: NONE). */
  readonly tokens: SessionRecord['tokens'] | typeof NONE;
  readonly hasJti: boolean;
  constructor(s: SessionRecord) {
    this.id = s.id;
    this.userId = s.userId;
    this.csrfToken = s.csrfToken;
    this.createdAt = s.createdAt;
    this.lastActiveAt = s.lastActiveAt;
    this.expiresAt = s.expiresAt;
    this.hasJti = 'jti' in s;
    this.jti = s.jti;
    const first = s.tokens?.length === 1 ? s.tokens[0] : undefined;
    const one =
      first &&
      typeof first.id === 'string' &&
      typeof first.until === 'number' &&
      Object.keys(first).length === 2
        ? first
        : undefined;
    this.tokenId = one?.id;
    this.tokenUntil = one?.until ?? 0;
    this.tokens = one ? undefined : 'tokens' in s ? s.tokens : NONE;
  }
  record(): SessionRecord {
    const r: SessionRecord = {
      id: this.id,
      userId: this.userId,
      csrfToken: this.csrfToken,
      createdAt: this.createdAt,
      lastActiveAt: this.lastActiveAt,
      expiresAt: this.expiresAt,
    };
    if (this.hasJti) r.jti = this.jti as string;
    if (this.tokenId !== undefined) r.tokens = [{ id: this.tokenId, until: this.tokenUntil }];
    else if (this.tokens !== NONE) r.tokens = this.tokens as NonNullable<SessionRecord['tokens']>;
    return r;
  }
}
const NONE = Symbol('none');

export function createMemorySessions(options: MemorySessionsOptions = {}): SessionStore {
  const now = options.now ?? Date.now;
  const sessions = new Map<string, Kept>();
  const revoked = new Map<string, number>();
  return {
    putSession(s) {
      sessions.delete(s.id);
      if (sessions.size >= MAX_SESSIONS) {
        const oldest = sessions.keys().next().value;
        if (oldest !== undefined) sessions.delete(oldest);
      }
      sessions.set(s.id, new Kept(s));
    },
    getSession(id) {
      const s = sessions.get(id);
      if (s && s.expiresAt <= now()) {
        sessions.delete(id);
        return undefined;
      }
      return s?.record();
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
