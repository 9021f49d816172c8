import { createBoundedMap } from '../bounded-map.js';
import type { SocketAnomalyState } from '../connection/state.js';
import { DEFAULTS } from '../defaults.js';
import type { EventBus } from '../events.js';
import type { Stage } from '../pipeline/types.js';
import { addSignal, NO_LEVELS, newScore, type Score } from './score.js';

export type AnomalySignal =
  | 'validation'
  | 'csrf'
  | 'unknownType'
  | 'rateLimit'
  | 'oversized'
  | 'authFailure'
  | 'burst'
  | 'binary'
  | 'malformed'
  | 'unsafeJson'
  | 'forbidden';

export type AnomalyAction = 'warn' | 'disconnect' | 'block';

export interface AnomalyThresholds {
  /** Log `anomaly.flagged`. @default 10 */
  warn: number;
  /** Close the socket 1008 WSG_ANOMALY. @default 25 */
  disconnect: number;
  /** Ban the IP through the penalty ladder (403 at the gate). @default 60 */
  block: number;
}

export interface AnomalyOptions {
  /**
   * Weight per signal (which refusal adds which signal: rejections.ts).
   * @default { validation: 2, csrf: 5, unknownType: 2, rateLimit: 1, oversized: 5, authFailure: 3, burst: 5, binary: 2, malformed: 2, unsafeJson: 5, forbidden: 1 }
   */
  weights?: Partial<Record<AnomalySignal, number>>;
  /** Scores halve every this many ms. @default 60000 */
  halfLifeMs?: number;
  /** Score levels that trigger each action, ascending. @default { warn: 10, disconnect: 25, block: 60 } */
  thresholds?: Partial<AnomalyThresholds>;
  /** A socket's burst: messages in one second above `factor` x its own moving average and above `min`. @default { factor: 10, min: 30 } */
  burst?: { factor: number; min: number };
  /**
   * A user's and an IP's thresholds are the socket thresholds times these: they add up several
   * sockets (and, for an IP, often several users), so they need more before acting.
   * @default { user: 2, ip: 4 }
   */
  scopeFactors?: { user: number; ip: number };
}

/** AnomalyOptions after defaults and checks (config.ts). */
export interface ResolvedAnomaly {
  weights: Record<AnomalySignal, number>;
  halfLifeMs: number;
  thresholds: AnomalyThresholds;
  burst: { factor: number; min: number };
  scopeFactors: { user: number; ip: number };
}

/** What `onAnomaly` receives. */
export interface AnomalyEvent {
  action: AnomalyAction;
  /** Which score crossed: this socket's, its user's or its IP's. */
  scope: 'socket' | 'user' | 'ip';
  score: number;
  signal: AnomalySignal;
  ip: string;
  userId?: string;
  connectionId: string;
}

export type { SocketAnomalyState };

export interface AnomalySubject {
  readonly ip: string;
  readonly user: { id: string } | undefined;
  readonly connectionId: string;
  anomaly: SocketAnomalyState | undefined;
}

export const DEFAULT_WEIGHTS: Readonly<Record<AnomalySignal, number>> = DEFAULTS.anomaly.weights;

const ACTIONS: readonly AnomalyAction[] = ['warn', 'disconnect', 'block'];
/** What signal() returns when nothing is due (shared: callers only read it). */
const NONE: AnomalyEvent[] = Object.freeze([]) as unknown as AnomalyEvent[];

export interface AnomalyScorer {
  /** Adds a signal to the socket's, user's and IP's scores; returns the actions now due, strongest last. */
  signal(subject: AnomalySubject, signal: AnomalySignal): AnomalyEvent[];
  /** Frame stage that watches for bursts far above the socket's own baseline (never refuses). */
  burstStage: Stage;
}

export function createAnomalyScorer(
  options: AnomalyOptions,
  events: EventBus,
  now: () => number,
  onAnomaly: ((e: AnomalyEvent) => void) | undefined,
  /** Where the burst stage reports a burst (the guard scores it and acts). */
  reportBurst: (subject: AnomalySubject) => void,
): AnomalyScorer {
  // Checked once by resolveAnomaly (config.ts); merged again here for callers passing a subset.
  const d = DEFAULTS.anomaly;
  const weights = { ...d.weights, ...(options.weights ?? {}) };
  const halfLife = options.halfLifeMs ?? d.halfLifeMs;
  const t = { ...d.thresholds, ...(options.thresholds ?? {}) };
  const thresholds = [t.warn, t.disconnect, t.block];
  const factors = { ...d.scopeFactors, ...(options.scopeFactors ?? {}) };
  const scaled = {
    socket: thresholds,
    user: thresholds.map((x) => x * factors.user),
    ip: thresholds.map((x) => x * factors.ip),
  };
  const burst = options.burst ?? d.burst;
  // Users' and IPs' scores live in this process only; bounded so a flood of IPs cannot grow them.
  const byUser = createBoundedMap<Score>(DEFAULTS.internal.anomalyScopeEntries, now);
  const byIp = createBoundedMap<Score>(DEFAULTS.internal.anomalyScopeEntries, now);
  const ttl = halfLife * 10;

  const state = (s: AnomalySubject, at: number): SocketAnomalyState =>
    (s.anomaly ??= {
      score: newScore(at),
      windowStart: at,
      windowCount: 0,
      baseline: 0,
      burstFlagged: false,
    });

  /** Adds the signal to one scope's score; emits and collects the actions it crossed into. */
  const raise = (
    due: AnomalyEvent[] | undefined,
    scope: AnomalyEvent['scope'],
    score: Score,
    subject: AnomalySubject,
    signal: AnomalySignal,
    weight: number,
    at: number,
  ): AnomalyEvent[] | undefined => {
    const crossed = addSignal(score, weight, at, halfLife, scaled[scope]);
    if (crossed === NO_LEVELS) return due;
    for (const i of crossed) {
      const e: AnomalyEvent = {
        action: ACTIONS[i] as AnomalyAction,
        scope,
        score: Math.round(score.value * 10) / 10,
        signal,
        ip: subject.ip,
        connectionId: subject.connectionId,
        ...(subject.user ? { userId: subject.user.id } : {}),
      };
      events.emit({
        event: 'anomaly.flagged',
        level: 'warn',
        ip: e.ip,
        connectionId: e.connectionId,
        ...(e.userId ? { userId: e.userId } : {}),
        code: 'WSG_ANOMALY',
        detail: { action: e.action, scope, score: e.score, signal },
      });
      onAnomaly?.(e);
      due ??= [];
      due.push(e);
    }
    return due;
  };

  /** The scope's live score with its expiry renewed, or a new one (one map lookup when live). */
  const scoreOf = (scores: typeof byUser, key: string, at: number): Score => {
    let score = scores.touch(key, at, at + ttl);
    if (score === undefined) {
      score = newScore(at);
      scores.set(key, score, at + ttl);
    }
    return score;
  };

  const scorer: AnomalyScorer = {
    signal(subject, signal) {
      const at = now();
      const weight = weights[signal];
      if (!(weight > 0)) return NONE;
      // One refused message scores three scopes; nothing is allocated unless a threshold is crossed.
      let due = raise(undefined, 'socket', state(subject, at).score, subject, signal, weight, at);
      if (subject.user) {
        const u = scoreOf(byUser, subject.user.id, at);
        due = raise(due, 'user', u, subject, signal, weight, at);
      }
      const ip = scoreOf(byIp, subject.ip, at);
      due = raise(due, 'ip', ip, subject, signal, weight, at);
      return due === undefined
        ? NONE
        : due.sort((a, b) => ACTIONS.indexOf(a.action) - ACTIONS.indexOf(b.action));
    },
    burstStage: (m) => {
      const at = now();
      const s = state(m.conn, at);
      if (at - s.windowStart >= 1000) {
        s.baseline = s.baseline === 0 ? s.windowCount : s.baseline * 0.8 + s.windowCount * 0.2;
        s.windowStart = at;
        s.windowCount = 0;
        s.burstFlagged = false;
      }
      s.windowCount++;
      if (!s.burstFlagged && s.windowCount > burst.min && s.windowCount > burst.factor * s.baseline) {
        s.burstFlagged = true;
        reportBurst(m.conn);
      }
      return undefined;
    },
  };
  return scorer;
}
