import type { AnnouncedLimits, AnnouncedRate } from '../protocol/index.js';

/**
 * The client's copy of the server's token buckets, from `auth_ok.limits`: a message goes out only
 * when every bucket it takes from holds enough, so the server never has to refuse it.
 *
 * The copy is a little stricter than the original (`RATE_MARGIN`, `BURST_MARGIN`): frames sent
 * back to back can arrive closer together than they left (network jitter, a resumed TCP window),
 * and the kept burst tokens absorb that. A bucket may go below zero: control frames (pings,
 * refresh) are never held, so they take on credit and the next messages wait for it.
 */
export interface Pacer {
  /** New limits (auth_ok, refresh_ok); undefined: the server announced none, nothing is paced. */
  update(limits: AnnouncedLimits | undefined): void;
  /** A new socket: the server's per-socket buckets start full there. */
  newSocket(): void;
  /** Ms until a message of `type` whose frame is `bytes` long may go; 0 when it may go now. */
  wait(type: string, bytes: number): number;
  /** Takes the tokens of a message that goes out now. */
  take(type: string, bytes: number): void;
  /** Takes the tokens of a control frame (it goes out whatever the buckets hold). */
  control(bytes: number): void;
  /** The server said it refused a message for a rate: treat every bucket as empty. */
  drain(): void;
  /** True when the server announced rate limits and they are being followed. */
  readonly active: boolean;
}

/** Fraction of the announced rate the client uses. */
export const RATE_MARGIN = 0.95;
/** Fraction of the announced burst the client uses (at least 1 token). */
export const BURST_MARGIN = 0.9;

interface Bucket {
  rate: number;
  burst: number;
  tokens: number;
  at: number;
}

function bucket(r: AnnouncedRate, now: number, previous: Bucket | undefined): Bucket {
  const rate = r.rate * RATE_MARGIN;
  const burst = Math.max(1, Math.floor(r.burst * BURST_MARGIN));
  if (previous) {
    refill(previous, now);
    return { rate, burst, tokens: Math.min(previous.tokens, burst), at: now };
  }
  return { rate, burst, tokens: burst, at: now };
}

function refill(b: Bucket, now: number): void {
  if (now > b.at) b.tokens = Math.min(b.burst, b.tokens + ((now - b.at) / 1000) * b.rate);
  b.at = Math.max(b.at, now);
}

/** Ms until `b` holds `n` tokens (a cost above the burst waits for a full bucket). */
function waitFor(b: Bucket, n: number, now: number): number {
  refill(b, now);
  const need = Math.min(n, b.burst);
  return b.tokens >= need ? 0 : Math.ceil(((need - b.tokens) / b.rate) * 1000);
}

export function createPacer(now: () => number): Pacer {
  let socketMessages: Bucket | undefined;
  let socketBytes: Bucket | undefined;
  let userMessages: Bucket | undefined;
  let types = new Map<string, { b: Bucket; cost: number }>();

  const all = function* (type: string | undefined, bytes: number): Generator<[Bucket, number]> {
    if (socketMessages) yield [socketMessages, 1];
    if (socketBytes) yield [socketBytes, bytes];
    if (userMessages) yield [userMessages, 1];
    const t = type === undefined ? undefined : types.get(type);
    if (t) yield [t.b, t.cost];
  };

  return {
    update(limits) {
      const t = now();
      const keep = (r: AnnouncedRate | undefined, prev: Bucket | undefined) =>
        r === undefined ? undefined : bucket(r, t, prev);
      const perSocket =
        limits?.messagesPerSecond !== undefined && limits.burst !== undefined
          ? { rate: limits.messagesPerSecond, burst: limits.burst }
          : undefined;
      socketMessages = keep(perSocket, socketMessages);
      socketBytes = keep(limits?.bytes, socketBytes);
      userMessages = keep(limits?.user, userMessages);
      const next = new Map<string, { b: Bucket; cost: number }>();
      for (const [type, r] of Object.entries(limits?.types ?? {})) {
        next.set(type, { b: bucket(r, t, types.get(type)?.b), cost: r.cost ?? 1 });
      }
      types = next;
    },
    newSocket() {
      const t = now();
      for (const b of [socketMessages, socketBytes]) {
        if (!b) continue;
        // Credit taken by control frames on the old socket is not owed on the new one.
        b.tokens = b.burst;
        b.at = t;
      }
    },
    wait(type, bytes) {
      const t = now();
      let most = 0;
      for (const [b, n] of all(type, bytes)) most = Math.max(most, waitFor(b, n, t));
      return most;
    },
    take(type, bytes) {
      const t = now();
      for (const [b, n] of all(type, bytes)) {
        refill(b, t);
        b.tokens -= n;
      }
    },
    control(bytes) {
      const t = now();
      for (const [b, n] of all(undefined, bytes)) {
        refill(b, t);
        b.tokens -= n;
      }
    },
    drain() {
      const t = now();
      for (const [b] of all(undefined, 0)) {
        refill(b, t);
        b.tokens = Math.min(b.tokens, 0);
      }
      for (const { b } of types.values()) {
        refill(b, t);
        b.tokens = Math.min(b.tokens, 0);
      }
    },
    get active() {
      return (
        socketMessages !== undefined ||
        socketBytes !== undefined ||
        userMessages !== undefined ||
        types.size > 0
      );
    },
  };
}
