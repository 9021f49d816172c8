import type { EventBus } from '../events.js';
import type { GateCheck, GateRejection } from '../gate/index.js';
import type { LimitStore, MaybePromise } from '../stores/types.js';
import { keys } from './keys.js';
import type { ResolvedLimits } from './options.js';

async function blocked(store: LimitStore, key: string, now: number): Promise<number | undefined> {
  const b = await store.getBlock(key);
  return b && b.until > now ? b.until - now : undefined;
}

export interface LimitGate {
  /** Checks before the token is looked at, in order. */
  checks: GateCheck[];
  /** Counts a failed authentication from `ip`; blocks the IP's auth past the limit. */
  authFailed(ip: string): MaybePromise<void>;
  /** Blocks the IP the way too many auth failures do (429 at the gate) for `ms`. */
  blockAuth(ip: string, ms: number, reason: string): Promise<void>;
  /** After a token is verified: is the user blocked? */
  userAdmission(userId: string): Promise<GateRejection | undefined>;
  /** Open sockets per IP in this process (counted on open and close). */
  opened(ip: string): void;
  closed(ip: string): void;
}

/** The gate's share of the limits: bans, blocks, attempts, concurrency, auth brute force. */
export function createLimitGate(
  store: LimitStore,
  limits: ResolvedLimits,
  events: EventBus,
  now: () => number,
): LimitGate {
  const openPerIp = new Map<string, number>();
  const checks: GateCheck[] = [
    async (_req, ip) => {
      const left = await blocked(store, keys.ban(ip), now());
      return left === undefined ? undefined : { code: 'WSG_BANNED', detail: 'ip banned' };
    },
    async (_req, ip) => {
      const t = now();
      const left =
        (await blocked(store, keys.ipBlock(ip), t)) ?? (await blocked(store, keys.authBlock(ip), t));
      return left === undefined
        ? undefined
        : { code: 'WSG_BLOCKED', retryAfterMs: left, detail: 'ip blocked' };
    },
  ];
  const attempts = limits.connectionsPerIp;
  if (attempts) {
    checks.push(async (_req, ip) => {
      const n = await store.hit(keys.attempts(ip), attempts.windowMs);
      return n > attempts.max
        ? { code: 'WSG_RATE_LIMITED', retryAfterMs: attempts.windowMs, detail: `connection attempts ${n}` }
        : undefined;
    });
  }
  const perIp = limits.concurrentPerIp;
  if (perIp) {
    checks.push((_req, ip) =>
      (openPerIp.get(ip) ?? 0) >= perIp
        ? { code: 'WSG_TOO_MANY_CONNECTIONS', retryAfterMs: 1000, detail: `ip sockets ${perIp}` }
        : undefined,
    );
  }
  const authLimit = limits.authFailures;
  return {
    checks,
    async authFailed(ip) {
      if (!authLimit) return;
      const n = await store.hit(keys.authFailures(ip), authLimit.windowMs);
      if (n === authLimit.max) {
        await store.setBlock(keys.authBlock(ip), {
          until: now() + authLimit.blockMs,
          level: 1,
          reason: 'WSG_AUTH_FAILED',
        });
        events.emit({
          event: 'penalty.blocked',
          level: 'warn',
          ip,
          code: 'WSG_BLOCKED',
          detail: { authFailures: n, blockMs: authLimit.blockMs },
        });
      }
    },
    async blockAuth(ip, ms, reason) {
      await store.setBlock(keys.authBlock(ip), { until: now() + ms, level: 1, reason });
      events.emit({
        event: 'penalty.blocked',
        level: 'warn',
        ip,
        code: 'WSG_BLOCKED',
        detail: { blockMs: ms, reason },
      });
    },
    async userAdmission(userId) {
      const left = await blocked(store, keys.userBlock(userId), now());
      return left === undefined
        ? undefined
        : { code: 'WSG_BLOCKED', retryAfterMs: left, detail: 'user blocked' };
    },
    opened(ip) {
      openPerIp.set(ip, (openPerIp.get(ip) ?? 0) + 1);
    },
    closed(ip) {
      const n = (openPerIp.get(ip) ?? 1) - 1;
      if (n <= 0) openPerIp.delete(ip);
      else openPerIp.set(ip, n);
    },
  };
}
