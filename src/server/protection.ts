import type { ErrorCode } from '../protocol/index.js';
import {
  type AnomalyEvent,
  type AnomalySubject,
  createAnomalyScorer,
  type ResolvedAnomaly,
} from './anomaly/index.js';
import { DEFAULTS } from './defaults.js';
import { WsgError } from './errors.js';
import type { EventBus } from './events.js';
import type { GateCheck, GateRejection } from './gate/index.js';
import { createLimitGate } from './limits/gate-checks.js';
import { keys } from './limits/keys.js';
import type { ResolvedLimits } from './limits/options.js';
import { createPenalties, type Offender } from './limits/penalties.js';
import { createSocketRateStage } from './limits/socket-rate.js';
import { createTypeRateStage, createUserRateStage } from './limits/user-rate.js';
import type { Stage } from './pipeline/types.js';
import { rejectionOf } from './rejections.js';
import type { LimitStore } from './stores/types.js';

/** The socket as the protection layer sees it. */
export interface Protected extends Offender, AnomalySubject {
  readonly ip: string;
  readonly user: { id: string } | undefined;
  holdsUserSlot: boolean;
  /** Sends `error` with the code and closes with its close code. */
  fail(code: ErrorCode, retryAfterMs?: number): void;
}

export interface Protection {
  gateChecks: GateCheck[];
  /** Before any JSON work. */
  frameStages: Stage[];
  /** After schema and CSRF. */
  appStages: Stage[];
  /** Is a verified user allowed in (blocks)? For tokens at the upgrade and in the first message. */
  admitUser(userId: string): Promise<GateRejection | undefined>;
  /** Takes one of the user's concurrent-socket slots, or refuses. */
  acquireUserSlot(conn: Protected): Promise<WsgError | undefined>;
  authFailed(ip: string): void;
  opened(conn: Protected): void;
  closed(conn: Protected): void;
  /**
   * Every refusal, as its row in rejections.ts says: anomaly signal, strike, auth failure; may
   * close the socket. A rate-limit refusal of an obedient socket counts for nothing (`obeys`).
   */
  rejected(conn: Protected, code: ErrorCode, retryAfterMs?: number): void;
}

const ipReleased = new WeakSet<object>();

/**
 * The fairness rule for rate limits (docs/rate-limits.md): a `WSG_RATE_LIMITED` refusal adds no
 * anomaly signal and no strike when the socket obeyed the last retry-after it was given, that
 * is, the refused frame arrived at or after the end of that wait (or the socket was never told
 * to wait). A socket that sends again before its wait is over is not obeying: that refusal
 * counts, and the wait runs from the latest refusal. So a client that slows down when told is
 * slowed, never closed; one that ignores retry-after walks the ladder as before.
 */
export function createObedience(now: () => number) {
  const waitUntil = new WeakMap<object, number>();
  return {
    /** Records the refusal; true when it must not be held against the socket. */
    obeys(conn: object, retryAfterMs: number | undefined): boolean {
      const t = now();
      const until = waitUntil.get(conn);
      waitUntil.set(conn, Math.max(until ?? 0, t + (retryAfterMs ?? 0)));
      return until === undefined || t >= until;
    },
  };
}

export function createProtection(o: {
  store: LimitStore;
  limits: ResolvedLimits | false;
  anomaly: ResolvedAnomaly | false;
  onAnomaly: ((e: AnomalyEvent) => void) | undefined;
  events: EventBus;
  now: () => number;
}): Protection {
  const { store, events, now } = o;
  const { limits } = o;
  const gate = limits ? createLimitGate(store, limits, events, now) : undefined;
  const ladder = limits ? limits.penalties : false;
  const penalties = ladder ? createPenalties(store, ladder, events, now) : undefined;

  /**
   * One rule for which answer a socket gets (docs/rate-limits.md): a block the penalty ladder is
   * applying wins, so the client sees 4429 `WSG_BLOCKED;retryAfterMs` and comes back after it;
   * the anomaly close (1008 `WSG_ANOMALY`) is for sockets with no block under way. A ban is
   * written to the store before the socket is closed, so a reconnect to any node is refused.
   */
  const act = (conn: Protected, due: AnomalyEvent[]) => {
    const strongest = due[due.length - 1];
    if (!strongest || strongest.action === 'warn') return;
    const blocking = conn.strikes?.count === -1;
    if (strongest.action === 'block' && !conn.user && gate && limits) {
      // An anonymous client cannot earn its address a ban (anyone behind it would pay): it gets
      // the auth-failure block, minutes long, written before the close.
      const ms = limits.authFailures ? limits.authFailures.blockMs : DEFAULTS.limits.authFailures.blockMs;
      void gate.blockAuth(conn.ip, ms, 'anonymous anomaly').then(
        () => conn.fail('WSG_ANOMALY'),
        () => conn.fail('WSG_ANOMALY'),
      );
      return;
    }
    // blockIp: false means no block or ban of an address from what a user did.
    if (strongest.action === 'block' && penalties && conn.user && ladder && !ladder.blockIp) {
      if (!blocking) conn.fail('WSG_ANOMALY');
      return;
    }
    if (strongest.action === 'block' && penalties && conn.user) {
      void Promise.resolve(penalties.ban(conn.ip, 'anomaly')).then(
        () => blocking || conn.fail('WSG_ANOMALY'),
        () => blocking || conn.fail('WSG_ANOMALY'),
      );
      return;
    }
    if (!blocking) conn.fail('WSG_ANOMALY');
  };
  const scorer =
    o.anomaly === false
      ? undefined
      : createAnomalyScorer(o.anomaly, events, now, o.onAnomaly, (subject) =>
          act(subject as Protected, scorer?.signal(subject, 'burst') ?? []),
        );

  const frameStages: Stage[] = [];
  const appStages: Stage[] = [];
  if (scorer) frameStages.push(scorer.burstStage);
  if (limits) {
    const socketRate = createSocketRateStage(limits.messages, limits.bytes, now);
    if (socketRate) frameStages.push(socketRate);
    const userRate = createUserRateStage(store, limits.user);
    if (userRate) appStages.push(userRate);
    const typeRate = createTypeRateStage(store, limits.types);
    if (typeRate) appStages.push(typeRate);
  }
  const perUser = limits ? limits.concurrentPerUser : false;
  const obedience = createObedience(now);

  return {
    gateChecks: gate?.checks ?? [],
    frameStages,
    appStages,
    admitUser: async (userId) => gate?.userAdmission(userId),
    async acquireUserSlot(conn) {
      if (!perUser || !conn.user) return undefined;
      const n = await store.acquire(keys.userSockets(conn.user.id), DEFAULTS.internal.userSlotTtlMs);
      if (n > perUser) {
        await store.release(keys.userSockets(conn.user.id));
        return new WsgError('WSG_TOO_MANY_CONNECTIONS', {
          retryAfterMs: 1000,
          detail: `user sockets ${perUser}`,
        });
      }
      conn.holdsUserSlot = true;
      return undefined;
    },
    authFailed(ip) {
      if (gate) void Promise.resolve(gate.authFailed(ip)).catch(() => {});
    },
    opened(conn) {
      gate?.opened(conn.ip);
    },
    closed(conn) {
      // Called again when a session finishes opening after its socket closed (to give the user
      // slot back): the IP's count must go down once only, or concurrentPerIp leaks open.
      if (!ipReleased.has(conn)) {
        ipReleased.add(conn);
        gate?.closed(conn.ip);
      }
      if (conn.holdsUserSlot && conn.user) {
        conn.holdsUserSlot = false;
        void Promise.resolve(store.release(keys.userSockets(conn.user.id))).catch(() => {});
      }
    },
    rejected(conn, code, retryAfterMs) {
      // Refusals that arrive while a block closes the socket count neither as strikes nor as
      // anomaly signals: the flood that earned the block must not also earn a ban.
      if (conn.strikes?.count === -1) return;
      if (code === 'WSG_RATE_LIMITED' && obedience.obeys(conn, retryAfterMs)) return;
      const rule = rejectionOf(code);
      // The strike first: when it escalates to a block, the anomaly action below defers to it.
      if (rule.strike && penalties) {
        const r = penalties.strike(conn);
        if (r !== undefined) {
          void Promise.resolve(r).then(
            (blockMs) => blockMs !== undefined && conn.fail('WSG_BLOCKED', blockMs),
            () => conn.fail('WSG_BLOCKED', ladder ? ladder.blockMs : DEFAULTS.limits.penalties.blockMs),
          );
        }
      }
      if (rule.signal && scorer) act(conn, scorer.signal(conn, rule.signal));
      if (rule.authFailure && gate) this.authFailed(conn.ip);
    },
  };
}
