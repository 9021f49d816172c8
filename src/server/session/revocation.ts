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

  /** What every node does with a revocation: record it and close the sockets it names. */
  const apply = (m: RevokeMessage) => {
    if (m.kind === 'session') {
      remember(m.until, () => store.revoke('session', m.id, m.until));
      closeRevoked((c) => c.sessionId === m.id);
    } else if (m.kind === 'ip') {
      remember(m.until, () => store.setBlock(keys.ban(m.id), { until: m.until, level: 1, reason: m.reason }));
      // Matched as the ban is keyed (an IPv6 /64, one spelling), not by the text of the address.
      const key = keys.ban(m.id);
      for (const c of sockets.all) if (keys.ban(c.ip) === key) c.fail('WSG_BANNED');
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
  };

  const unsubscribe = store.subscribe(REVOKE_CHANNEL, (text) => {
    const m = decodeRevoke(text);
    if (m) apply(m);
  });

  /**
   * Revocations that may not have reached the shared store or the other nodes (the store was
   * unreachable, or a write timed out although Redis may have done it): written and published
   * again whenever the store is back, until one round gets through. Bounded; oldest go first.
   */
  const outbox = new Map<string, { m: RevokeMessage; write: () => unknown; bytes: number }>();
  let outboxBytes = 0;
  const unqueue = (key: string) => {
    const e = outbox.get(key);
    if (!e) return;
    outbox.delete(key);
    outboxBytes -= e.bytes;
  };
  const queue = (m: RevokeMessage, write: () => unknown) => {
    const key = `${m.kind}:${m.id}`;
    unqueue(key);
    const bytes = key.length + encodeRevoke(m).length;
    outbox.set(key, { m, write, bytes });
    outboxBytes += bytes;
    const { revokeOutboxEntries, revokeOutboxBytes } = DEFAULTS.internal;
    for (const [oldest, e] of outbox) {
      if (outbox.size <= revokeOutboxEntries && outboxBytes <= revokeOutboxBytes) break;
      unqueue(oldest);
      events.emit({
        event: 'store.degraded',
        level: 'error',
        code: 'WSG_OVERLOADED',
        detail: `revocation outbox full: ${e.m.kind} revocation kept on this node only`,
      });
    }
  };

  /**
   * Writes the store, then tells every node. Whatever did not surely get through is queued; when
   * the publication could not be made at all (fail closed), this node applies it itself.
   */
  const issue = async (m: RevokeMessage, write: () => unknown) => {
    try {
      await write();
      await store.publish(REVOKE_CHANNEL, encodeRevoke(m));
    } catch (err) {
      queue(m, write);
      apply(m);
      throw err;
    }
    // A fallen-back write or publication leaves the store degraded (memory stores never are).
    if (store.status() !== 'ok') queue(m, write);
  };

  let flushing = false;
  const flush = async () => {
    if (flushing) return;
    flushing = true;
    try {
      for (const [key, e] of [...outbox]) {
        if (!(e.m.until > now())) {
          unqueue(key);
          continue;
        }
        if (store.status() !== 'ok') return;
        try {
          await e.write();
          await store.publish(REVOKE_CHANNEL, encodeRevoke(e.m));
          if (store.status() === 'ok' && outbox.get(key) === e) unqueue(key);
        } catch {
          return;
        }
      }
    } finally {
      flushing = false;
    }
  };

  const revocation: Revocation = {
    async revokeSession(sessionId) {
      // Fail closed or not, a revocation is never refused for want of the record: without it the
      // session is revoked for the longest a session lives.
      const record = (await Promise.resolve(store.getSession(sessionId)).catch(() => undefined)) ?? {
        id: sessionId,
        expiresAt: now() + o.sessionMaxAgeMs,
      };
      await issue({ kind: 'session', id: sessionId, until: record.expiresAt }, () =>
        sessions.revokeSession(record),
      );
    },
    async revokeUser(userId) {
      const until = now() + o.sessionMaxAgeMs;
      await issue({ kind: 'user', id: userId, until }, () => sessions.revokeUser(userId, until));
    },
    async ban(ip, options = {}) {
      const durationMs = options.durationMs ?? DEFAULTS.ban.durationMs;
      if (!(durationMs > 0))
        throw new WsgConfigError('WSG_CONFIG_INVALID_BAN', 'ban durationMs must be a positive number');
      const reason = options.reason ?? DEFAULTS.ban.reason;
      const block = { until: now() + durationMs, level: 1, reason };
      events.emit({
        event: 'penalty.blocked',
        level: 'warn',
        ip,
        code: 'WSG_BANNED',
        // banMs, as the penalty ladder's bans say it, so stats() lists this ban with theirs.
        detail: { banMs: durationMs, reason },
      });
      await issue({ kind: 'ip', id: ip, until: block.until, reason }, () =>
        store.setBlock(keys.ban(ip), block),
      );
    },
    recheck() {
      for (const c of sockets.all) {
        void (async () => {
          const ban = await store.getBlock(keys.ban(c.ip));
          if (ban && ban.until > now()) return c.fail('WSG_BANNED');
          const user = c.user;
          if (!user) return;
          const session =
            c.sessionId === undefined ? undefined : await store.revokedUntil('session', c.sessionId);
          if (session !== undefined || (await sessions.revoked(user))) closeRevoked((x) => x === c);
        })().catch(() => {});
      }
    },
    close() {
      unsubscribe();
      stopStatus?.();
      stopResubscribed?.();
    },
  };

  /** The store hears every node again: send what could not be sent, then check what was missed. */
  const catchUp = () => {
    void flush().finally(() => revocation.recheck());
  };
  // A subscription confirmed after sockets were let in (a node started before its store
  // connected) has the same gap.
  void Promise.resolve(store.whenSubscribed?.(REVOKE_CHANNEL)).then(() => {
    if (sockets.all.size > 0 || outbox.size > 0) catchUp();
  });
  const stopResubscribed = store.onResubscribed?.(catchUp);

  const stopStatus = store.onStatus?.((status, detail) => {
    // Stores that cannot tell when their subscriptions are back: their status says it.
    if (status === 'ok' && !stopResubscribed) catchUp();
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
