import type { StrikeState } from '../connection/state.js';
import type { EventBus } from '../events.js';
import type { LimitStore, MaybePromise } from '../stores/types.js';
import { keys } from './keys.js';
import type { ResolvedPenalties } from './options.js';

/** What the ladder needs to know about the socket that misbehaved. */
export interface Offender {
  readonly ip: string;
  readonly user: { id: string } | undefined;
  readonly connectionId: string;
  /** Refusals in the current strike window, kept on the socket; `count` is -1 once escalated. */
  strikes: StrikeState | undefined;
}

export interface Penalties {
  /**
   * Counts one refused message. Resolves with the block length (ms) when the socket has
   * crossed `strikes` and must be closed 4429; undefined while it only gets error replies.
   */
  strike(offender: Offender): MaybePromise<number | undefined>;
  /** Bans an IP for `banMs` (403 at the gate). */
  ban(ip: string, reason: string): MaybePromise<void>;
}

/** Block length for the n-th block (1-based): blockMs * factor^(n-1), capped. */
export function blockLength(
  p: Pick<ResolvedPenalties, 'blockMs' | 'factor' | 'maxBlockMs'>,
  level: number,
): number {
  return Math.min(p.maxBlockMs, Math.round(p.blockMs * p.factor ** Math.max(0, level - 1)));
}

/**
 * The penalty ladder: error replies -> close 4429 and block user and IP, each repeat block
 * `factor` times longer (capped) -> IP ban after `banAfter` blocks. State is in the store, so
 * blocks hold for new connections and across processes sharing it.
 */
export function createPenalties(
  store: LimitStore,
  p: ResolvedPenalties,
  events: EventBus,
  now: () => number,
): Penalties {
  const ban = async (ip: string, reason: string) => {
    const t = now();
    await store.setBlock(keys.ban(ip), { until: t + p.banMs, level: p.banAfter, reason });
    events.emit({
      event: 'penalty.blocked',
      level: 'warn',
      ip,
      code: 'WSG_BANNED',
      detail: { banMs: p.banMs, reason },
    });
  };

  const block = async (key: string, offenceKey: string) => {
    const level = await store.offend(keys.offences(offenceKey), p.offenceWindowMs);
    const ms = blockLength(p, level);
    await store.setBlock(key, { until: now() + ms, level, reason: 'WSG_RATE_LIMITED' });
    return { level, ms };
  };

  return {
    ban,
    strike(o) {
      const t = now();
      // Refusals that arrive while the socket is being closed do not count again.
      if (o.strikes?.count === -1) return undefined;
      if (!o.strikes || t - o.strikes.start >= p.strikeWindowMs) o.strikes = { start: t, count: 0 };
      o.strikes.count++;
      if (o.strikes.count < p.strikes) return undefined;
      o.strikes = { start: t, count: -1 };
      return (async () => {
        let ms = p.blockMs;
        if (o.user) ms = (await block(keys.userBlock(o.user.id), `user:${o.user.id}`)).ms;
        if (p.blockIp) {
          const ipBlock = await block(keys.ipBlock(o.ip), `ip:${o.ip}`);
          ms = Math.max(ms, ipBlock.ms);
          if (ipBlock.level >= p.banAfter) await ban(o.ip, 'repeat offender');
        }
        events.emit({
          event: 'penalty.blocked',
          level: 'warn',
          ip: o.ip,
          connectionId: o.connectionId,
          ...(o.user ? { userId: o.user.id } : {}),
          code: 'WSG_BLOCKED',
          detail: { blockMs: ms },
        });
        return ms;
      })();
    },
  };
}
