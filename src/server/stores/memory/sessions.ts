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

const NONE = Symbol('none');
const KEYS = new Set([
  'id',
  'userId',
  'csrfToken',
  'createdAt',
  'lastActiveAt',
  'expiresAt',
  'jti',
  'tokens',
]);
/**
 * `at - base` kept exactly as whole ms that V8 keeps in the field itself (a small integer), not
 * in a 16-byte box.
 */
const small = (at: number, base: number) => {
  const d = at - base;
  return Number.isInteger(d) && d > -(2 ** 30) && d < 2 ** 30 && base + d === at;
};

/**
 * A record as the map holds it, for as long as its socket is open and after. The usual record
 * (one token, times within 12 days of `createdAt`) is one object: the token in two fields and
 * the times as ms after `createdAt`, which V8 keeps unboxed. As put, a `tokens` array of one
 * `{ id, until }` and four boxed times cost some 150 bytes more per session. Anything else is
 * kept as a copy. `getSession` gives the record back as it was put.
 */
class Kept {
  readonly id: string;
  readonly userId: string;
  readonly csrfToken: string;
  readonly createdAt: number;
  /** lastActiveAt, expiresAt and the token's until, in ms after createdAt. */
  readonly lastActive: number;
  readonly expires: number;
  readonly tokenUntil: number;
  /** NONE: the record has no `jti` key. */
  readonly jti: string | undefined | typeof NONE;
  /** The single token's id (undefined: the record has no `tokens` key). */
  readonly tokenId: string | undefined;
  /** The record as put, when it does not fit the fields above. */
  readonly exact: SessionRecord | undefined;

  constructor(s: SessionRecord) {
    this.id = s.id;
    this.userId = s.userId;
    this.csrfToken = s.csrfToken;
    this.createdAt = s.createdAt;
    this.jti = 'jti' in s ? s.jti : NONE;
    const t = s.tokens;
    const one = t?.length === 1 ? t[0] : undefined;
    const fits =
      Object.keys(s).every((k) => KEYS.has(k)) &&
      (t === undefined ? !('tokens' in s) : one !== undefined && Object.keys(one).length === 2) &&
      (one === undefined || (typeof one.id === 'string' && small(one.until, s.createdAt))) &&
      small(s.lastActiveAt, s.createdAt) &&
      small(s.expiresAt, s.createdAt);
    this.lastActive = fits ? s.lastActiveAt - s.createdAt : 0;
    this.expires = fits ? s.expiresAt - s.createdAt : 0;
    this.tokenUntil = fits && one ? one.until - s.createdAt : 0;
    this.tokenId = fits ? one?.id : undefined;
    this.exact = fits ? undefined : { ...s };
  }

  get expiresAt(): number {
    return this.exact ? this.exact.expiresAt : this.createdAt + this.expires;
  }

  record(): SessionRecord {
    if (this.exact) return { ...this.exact };
    const at = this.createdAt;
    const r: SessionRecord = {
      id: this.id,
      userId: this.userId,
      csrfToken: this.csrfToken,
      createdAt: at,
      lastActiveAt: at + this.lastActive,
      expiresAt: at + this.expires,
    };
    if (this.jti !== NONE) r.jti = this.jti as string;
    if (this.tokenId !== undefined) r.tokens = [{ id: this.tokenId, until: at + this.tokenUntil }];
    return r;
  }
}

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
