import { createMemorySessions } from '../memory/sessions.js';
import type { RevocationKind, SessionRecord, SessionStore } from '../types.js';
import type { RedisLink } from './link.js';

/**
 * Sessions and revocations in Redis, each key living exactly as long as what it records.
 * Every revocation is also kept in this process, and reads ask both, so a node never forgets a
 * revocation it made or was told of, whatever happens to Redis.
 */
export function createRedisSessions(link: RedisLink, now: () => number): SessionStore {
  const fallback = createMemorySessions({ now });
  const { client, prefix } = link;
  const sessionKey = (id: string) => `${prefix}session:${id}`;
  const revokedKey = (kind: RevocationKind, id: string) => `${prefix}revoked:${kind}:${id}`;

  return {
    putSession(s) {
      const ttl = Math.ceil(s.expiresAt - now());
      if (ttl <= 0) return;
      return link.run(
        async () => {
          await client.set(sessionKey(s.id), JSON.stringify(s), 'PX', ttl);
        },
        () => fallback.putSession(s),
      );
    },
    getSession(id) {
      return link.run(
        async () => {
          const raw = await client.get(sessionKey(id));
          const s = raw ? parseSession(raw) : undefined;
          return s && s.expiresAt > now() ? s : fallback.getSession(id);
        },
        () => fallback.getSession(id),
      );
    },
    deleteSession(id) {
      fallback.deleteSession(id);
      return link.run(
        async () => {
          await client.del(sessionKey(id));
        },
        () => undefined,
      );
    },
    revoke(kind, id, until) {
      const ttl = Math.ceil(until - now());
      if (ttl <= 0) return;
      // Kept here too: during an outage this node still knows every revocation it made or
      // was told of (the guard records the ones other nodes publish).
      fallback.revoke(kind, id, until);
      return link.run(
        async () => {
          await client.set(revokedKey(kind, id), String(until), 'PX', ttl);
        },
        () => undefined,
      );
    },
    revokedUntil(kind, id) {
      const local = fallback.revokedUntil(kind, id);
      if (local !== undefined) return local;
      return link.run(
        async () => {
          const raw = await client.get(revokedKey(kind, id));
          const until = raw === null ? Number.NaN : Number(raw);
          if (!(Number.isFinite(until) && until > now())) return undefined;
          // Remembered here, so this node keeps refusing it if Redis goes away.
          fallback.revoke(kind, id, until);
          return until;
        },
        () => undefined,
      );
    },
  };
}

function parseSession(raw: string): SessionRecord | undefined {
  try {
    const v = JSON.parse(raw) as Partial<SessionRecord>;
    if (
      typeof v.id === 'string' &&
      typeof v.userId === 'string' &&
      typeof v.csrfToken === 'string' &&
      typeof v.createdAt === 'number' &&
      typeof v.lastActiveAt === 'number' &&
      typeof v.expiresAt === 'number'
    ) {
      return {
        id: v.id,
        userId: v.userId,
        csrfToken: v.csrfToken,
        createdAt: v.createdAt,
        lastActiveAt: v.lastActiveAt,
        expiresAt: v.expiresAt,
        ...(typeof v.jti === 'string' ? { jti: v.jti } : {}),
      };
    }
  } catch {
    // Not a session we wrote: treat as absent.
  }
  return undefined;
}
