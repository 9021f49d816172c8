import { z } from 'zod';
import { keys } from '../limits/keys.js';
import type { Guard } from '../server.js';
import type { AdminIdentity } from './auth.js';

const id = z.string().min(1).max(256);
const ip = z
  .string()
  .min(2)
  .max(64)
  .regex(/^[0-9A-Fa-f.:]+$/, 'an IPv4 or IPv6 address');

/** The actions an admin may take from the page, each a message on the dashboard's socket. */
export const actionSchema = z.discriminatedUnion('action', [
  z.object({ action: z.literal('revokeSession'), sessionId: id }).strict(),
  z.object({ action: z.literal('revokeUser'), userId: id }).strict(),
  z
    .object({
      action: z.literal('ban'),
      ip,
      durationMs: z
        .number()
        .int()
        .min(1000)
        .max(30 * 86_400_000)
        .optional(),
    })
    .strict(),
  z.object({ action: z.literal('unban'), ip }).strict(),
  z.object({ action: z.literal('unblockUser'), userId: id }).strict(),
  z.object({ action: z.literal('disconnect'), connectionId: id }).strict(),
]);
export type Action = z.output<typeof actionSchema>;

export const ACTION_CHANNEL = 'wsguard:dashboard:action';

/** Node-local parts of an action: what every node must do itself (its caches, its sockets). */
type LocalAction =
  | { kind: 'unban'; ip: string }
  | { kind: 'unblockUser'; userId: string }
  | { kind: 'disconnect'; connectionId: string };

/**
 * Runs admin actions. Revocations and bans go through the guard (already shared by every node
 * over the store); lifting a block and closing a socket are published on ACTION_CHANNEL so each
 * node clears its own copy: the Redis store keeps blocks in a local cache too.
 */
export function createActions(o: {
  guard: Guard;
  node: string;
  now: () => number;
  cleared: (kind: 'ip' | 'user', id: string) => void;
}) {
  const { guard, now } = o;
  // The store has no delete: a block that ends a millisecond from now replaces it everywhere.
  const lift = (key: string) =>
    Promise.resolve(guard.store.setBlock(key, { until: now() + 1, level: 0, reason: 'lifted' }));

  const applyLocal = async (a: LocalAction) => {
    if (a.kind === 'unban') {
      await Promise.all([lift(keys.ban(a.ip)), lift(keys.ipBlock(a.ip)), lift(keys.authBlock(a.ip))]);
      o.cleared('ip', a.ip);
    } else if (a.kind === 'unblockUser') {
      await lift(keys.userBlock(a.userId));
      o.cleared('user', a.userId);
    } else guard.disconnect(a.connectionId);
  };

  const unsubscribe = guard.store.subscribe(ACTION_CHANNEL, (message) => {
    try {
      const m = JSON.parse(message) as { node?: string; action?: LocalAction };
      if (m.node === o.node || !m.action) return;
      void applyLocal(m.action).catch(() => {});
    } catch {
      // Not ours.
    }
  });
  const everywhere = async (a: LocalAction) => {
    await applyLocal(a);
    await guard.store.publish(ACTION_CHANNEL, JSON.stringify({ node: o.node, action: a }));
  };

  return {
    async run(who: AdminIdentity, a: Action): Promise<{ ok: true }> {
      // Logged first: an action that fails half way is still on record.
      guard.events.emit({
        event: 'admin.action',
        level: 'warn',
        ip: who.ip,
        detail: { admin: `${who.admin} (${who.via})`, ...a },
      });
      switch (a.action) {
        case 'revokeSession':
          await guard.revokeSession(a.sessionId);
          break;
        case 'revokeUser':
          await guard.revokeUser(a.userId);
          break;
        case 'ban':
          await guard.ban(a.ip, {
            ...(a.durationMs === undefined ? {} : { durationMs: a.durationMs }),
            reason: `admin ${who.admin}`,
          });
          break;
        case 'unban':
          await everywhere({ kind: 'unban', ip: a.ip });
          break;
        case 'unblockUser':
          await everywhere({ kind: 'unblockUser', userId: a.userId });
          break;
        case 'disconnect':
          await everywhere({ kind: 'disconnect', connectionId: a.connectionId });
          break;
      }
      return { ok: true };
    },
    close: unsubscribe,
  };
}
