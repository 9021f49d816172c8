import type { Principal } from '../connection/state.js';
import { WsgError } from '../errors.js';
import type { EventBus } from '../events.js';
import { randomId } from '../ids.js';
import type { SessionRecord, SessionStore } from '../stores/types.js';
import type { ResolvedSessionOptions } from './options.js';

/** What the session manager needs of a socket. */
export interface SessionHolder {
  readonly connectionId: string;
  readonly ip: string;
  user: Principal | undefined;
  sessionId: string | undefined;
  csrfToken: string | undefined;
  /** The session's expiry, ms. */
  expiresAt: number;
  /** Last application message, ms (idle timeout). */
  lastActiveAt: number;
  /** `session_expiring` already pushed for the current expiry. */
  expiringSent: boolean;
}

export interface OpenedSession {
  record: SessionRecord;
}

export interface SessionManager {
  /** Refuses revoked users and tokens; creates and stores the session. */
  open(holder: SessionHolder, principal: Principal): Promise<OpenedSession | WsgError>;
  /** Verifies a refresh for the same subject and extends the session; resolves with refresh_ok's fields. */
  refresh(
    holder: SessionHolder,
    principal: Principal,
  ): Promise<{ expiresAt: number; csrfToken: string } | WsgError>;
  /** Is this principal revoked (its user since before its token was issued, or its token id)? */
  revoked(principal: Principal): Promise<boolean>;
  /** Marks a session (and the token that opened it) revoked until it would have expired. */
  revokeSession(record: {
    id: string;
    jti?: string | undefined;
    expiresAt: number;
    tokens?: { id: string; until: number }[] | undefined;
  }): Promise<void>;
  /**
   * Refuses every token of the user issued before now, for `maxAgeMs` (or until `until`, which
   * says when that was: `until - maxAgeMs`). Returns when the revocation ends.
   */
  revokeUser(userId: string, until?: number): Promise<number>;
  close(holder: SessionHolder): void;
  /** What is due on this socket now: nothing, the expiring notice, or the end. */
  due(holder: SessionHolder, now: number): 'expiring' | 'expired' | 'idle' | undefined;
}

export function createSessionManager(
  store: SessionStore,
  o: ResolvedSessionOptions,
  events: EventBus,
  now: () => number,
): SessionManager {
  const tokenOf = (p: Principal) => ({
    id: p.tokenId ?? p.jti,
    until: p.expiresAt ?? now() + o.maxAgeMs,
  });
  const revoked = async (p: Principal): Promise<boolean> => {
    if (p.jti !== undefined && (await store.revokedUntil('token', p.jti)) !== undefined) return true;
    if (p.tokenId !== undefined && p.tokenId !== p.jti) {
      if ((await store.revokedUntil('token', p.tokenId)) !== undefined) return true;
    }
    const userUntil = await store.revokedUntil('user', p.id);
    if (userUntil === undefined) return false;
    // A user revocation refuses tokens issued before it (kept for maxAgeMs); newer tokens pass.
    const revokedAt = userUntil - o.maxAgeMs;
    const iat = typeof p.claims?.iat === 'number' ? p.claims.iat * 1000 : undefined;
    return iat === undefined || iat <= revokedAt;
  };

  return {
    revoked,
    async open(h, p) {
      if (await revoked(p)) return new WsgError('WSG_SESSION_REVOKED', { detail: 'revoked user or token' });
      const t = now();
      const record: SessionRecord = {
        id: randomId(16),
        userId: p.id,
        csrfToken: randomId(32),
        createdAt: t,
        lastActiveAt: t,
        expiresAt: Math.min(p.expiresAt ?? Number.POSITIVE_INFINITY, t + o.maxAgeMs),
        ...(p.jti !== undefined ? { jti: p.jti } : {}),
      };
      const token = tokenOf(p);
      if (token.id !== undefined) record.tokens = [{ id: token.id, until: token.until }];
      await store.putSession(record);
      h.sessionId = record.id;
      h.csrfToken = record.csrfToken;
      h.expiresAt = record.expiresAt;
      h.lastActiveAt = t;
      h.expiringSent = false;
      return { record };
    },
    async refresh(h, p) {
      if (!h.user || p.id !== h.user.id)
        return new WsgError('WSG_AUTH_FAILED', { detail: 'refresh for another subject' });
      if (await revoked(p)) return new WsgError('WSG_SESSION_REVOKED', { detail: 'revoked token' });
      const record = h.sessionId ? await store.getSession(h.sessionId) : undefined;
      if (!record) return new WsgError('WSG_SESSION_EXPIRED', { detail: 'session gone' });
      record.expiresAt = Math.min(p.expiresAt ?? Number.POSITIVE_INFINITY, record.createdAt + o.maxAgeMs);
      if (o.rotateCsrfOnRefresh) record.csrfToken = randomId(32);
      if (p.jti !== undefined) record.jti = p.jti;
      const token = tokenOf(p);
      if (token.id !== undefined && !record.tokens?.some((t) => t.id === token.id)) {
        record.tokens = [...(record.tokens ?? []), { id: token.id, until: token.until }].slice(-64);
      }
      await store.putSession(record);
      h.user = p;
      h.expiresAt = record.expiresAt;
      h.csrfToken = record.csrfToken;
      h.expiringSent = false;
      events.emit({
        event: 'session.refreshed',
        level: 'info',
        ip: h.ip,
        userId: p.id,
        sessionId: record.id,
        connectionId: h.connectionId,
      });
      return { expiresAt: record.expiresAt, csrfToken: record.csrfToken };
    },
    async revokeSession(r) {
      const until = Number.isFinite(r.expiresAt) ? r.expiresAt : now() + o.maxAgeMs;
      await store.revoke('session', r.id, until);
      if (r.jti !== undefined) await store.revoke('token', r.jti, until);
      // Every token that opened or refreshed it, each until its own expiry (it could open a new
      // session until then).
      for (const t of r.tokens ?? []) await store.revoke('token', t.id, Math.max(t.until, until));
      await store.deleteSession(r.id);
    },
    async revokeUser(userId, until = now() + o.maxAgeMs) {
      await store.revoke('user', userId, until);
      return until;
    },
    close() {
      // The record stays until it expires (the store's TTL): revoking the session after its
      // socket closed must still find the tokens to refuse.
    },
    due(h, t) {
      if (t >= h.expiresAt) return 'expired';
      if (t - h.lastActiveAt >= o.idleTimeoutMs) return 'idle';
      if (!h.expiringSent && t >= h.expiresAt - o.refreshWindowMs) return 'expiring';
      return undefined;
    },
  };
}
