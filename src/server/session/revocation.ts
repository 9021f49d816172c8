import type { Sockets } from '../connection/registry.js';
import type { Connection } from '../connection.js';
import { DEFAULTS } from '../defaults.js';
import { WsgConfigError } from '../errors.js';
import type { EventBus } from '../events.js';
import { keys } from '../limits/keys.js';
import type { Store } from '../stores/types.js';
import type { SessionManager } from './sessions.js';

/**
 * Revocations and bans reach every node through one pub/sub channel: the node that revokes
 * writes the store, then publishes; every node (itself included) closes the matching sockets.
 */
export const REVOKE_CHANNEL = 'wsguard:revoke';

/** One message on the revoke channel. `until`: when the revocation ends, ms since the epoch. */
export type RevokeMessage =
  | { kind: 'session'; id: string; until: number }
  | { kind: 'user'; id: string; until: number }
  | { kind: 'ip'; id: string; until: number; reason: string };

export function encodeRevoke(m: RevokeMessage): string {
  return JSON.stringify(m);
}

/** Undefined for anything not written by encodeRevoke (another publisher on the channel). */
export function decodeRevoke(text: string): RevokeMessage | undefined {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null) return undefined;
  const { kind, id, until, reason } = v as Record<string, unknown>;
  if (typeof id !== 'string') return undefined;
  // Without a usable end the sockets are still closed; only the local copy is not written.
  const end = typeof until === 'number' ? until : Number.NaN;
  if (kind === 'session' || kind === 'user') return { kind, id, until: end };
  if (kind === 'ip')
    return { kind, id, until: end, reason: typeof reason === 'string' ? reason : DEFAULTS.ban.reason };
  return undefined;
}

export interface BanOptions {
  /** How long the IP is refused. @default 86400000 (a day) */
  durationMs?: number;
  /** Why, for the security log. @default 'manual' */
  reason?: string;
}

export interface Revocation {
  revokeSession(sessionId: string): Promise<void>;
  revokeUser(userId: string): Promise<void>;
  ban(ip: string, options?: BanOptions): Promise<void>;
  /** Checks every authenticated socket against the store (run when it is reachable again). */
  recheck(): void;
  /** Stops listening on the channel and to the store's status. */
  close(): void;
}

export function createRevocation(o: {
  store: Store;
  sessions: SessionManager;
  sockets: Sockets;
  events: EventBus;
  now: () => number;
  sessionMaxAgeMs: number;
  /** A revoked socket, before its close (its channel subscriptions are dropped). */
  onRevoked?(conn: Connection): void;
}): Revocation {
  const { store, sessions, sockets, events, now } = o;

  const closeRevoked = (matches: (c: Connection) => boolean) => {
    for (const c of sockets.authenticated) {
      if (!matches(c)) continue;
      c.event({ event: 'session.revoked', level: 'warn', code: 'WSG_SESSION_REVOKED' });
      o.onRevoked?.(c);
      c.fail('WSG_SESSION_REVOKED');
    }
  };

  // Recorded by every node (the store keeps a local copy), so a node still refuses them if the
  // shared store goes away.
  const remember = (until: number, write: () => unknown) => {
    if (until > now()) void Promise.resolve(write()).catch(() => {});
  };

  const unsubscribe = store.subscribe(REVOKE_CHANNEL, (text) => {
    const m = decodeRevoke(text);
    if (!m) return;
    if (m.kind === 'session') {
      remember(m.until, () => store.revoke('session', m.id, m.until));
      closeRevoked((c) => c.sessionId === m.id);
    } else if (m.kind === 'ip') {
      remember(m.until, () => store.setBlock(keys.ban(m.id), { until: m.until, level: 1, reason: m.reason }));
      for (const c of sockets.all) if (c.ip === m.id) c.fail('WSG_BANNED');
    } else {
      remember(m.until, () => store.revoke('user', m.id, m.until));
      for (const c of sockets.authenticated) {
        if (c.user?.id === m.id && c.sessionId !== undefined) {
          void sessions
            .revokeSession({ id: c.sessionId, jti: c.user.jti, expiresAt: c.expiresAt })
            .catch(() => {});
        }
      }
      closeRevoked((c) => c.user?.id === m.id);
    }
  });

  const revocation: Revocation = {
    async revokeSession(sessionId) {
      const record = (await store.getSession(sessionId)) ?? {
        id: sessionId,
        expiresAt: now() + o.sessionMaxAgeMs,
      };
      await sessions.revokeSession(record);
      await store.publish(
        REVOKE_CHANNEL,
        encodeRevoke({ kind: 'session', id: sessionId, until: record.expiresAt }),
      );
    },
    async revokeUser(userId) {
      const until = await sessions.revokeUser(userId);
      await store.publish(REVOKE_CHANNEL, encodeRevoke({ kind: 'user', id: userId, until }));
    },
    async ban(ip, options = {}) {
      const durationMs = options.durationMs ?? DEFAULTS.ban.durationMs;
      if (!(durationMs > 0))
        throw new WsgConfigError('WSG_CONFIG_INVALID_BAN', 'ban durationMs must be a positive number');
      const reason = options.reason ?? DEFAULTS.ban.reason;
      const block = { until: now() + durationMs, level: 1, reason };
      await store.setBlock(keys.ban(ip), block);
      events.emit({
        event: 'penalty.blocked',
        level: 'warn',
        ip,
        code: 'WSG_BANNED',
        // banMs, as the penalty ladder's bans say it, so stats() lists this ban with theirs.
        detail: { banMs: durationMs, reason },
      });
      await store.publish(REVOKE_CHANNEL, encodeRevoke({ kind: 'ip', id: ip, until: block.until, reason }));
    },
    recheck() {
      for (const c of sockets.authenticated) {
        const user = c.user;
        if (!user) continue;
        void (async () => {
          const ban = await store.getBlock(keys.ban(c.ip));
          if (ban && ban.until > now()) return c.fail('WSG_BANNED');
          const session =
            c.sessionId === undefined ? undefined : await store.revokedUntil('session', c.sessionId);
          if (session !== undefined || (await sessions.revoked(user))) closeRevoked((x) => x === c);
        })().catch(() => {});
      }
    },
    close() {
      unsubscribe();
      stopStatus?.();
    },
  };

  // Revocations and bans published while this node could not hear them: every socket is
  // checked against the store once it answers again.
  const stopStatus = store.onStatus?.((status, detail) => {
    if (status === 'ok') revocation.recheck();
    events.emit(
      status === 'ok'
        ? { event: 'store.recovered', level: 'info', detail: `${store.kind} store reachable again` }
        : {
            event: 'store.degraded',
            level: 'error',
            code: 'WSG_OVERLOADED',
            detail: `${store.kind} store unreachable: ${detail ?? 'unknown'}`,
          },
    );
  });
  return revocation;
}
