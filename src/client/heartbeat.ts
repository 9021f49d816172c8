import { AckTimeoutError } from './errors.js';

export interface HeartbeatOptions {
  intervalMs: number;
  timeoutMs: number;
  now: () => number;
  sendPing(ts: number): void;
  /** No pong by the deadline: the connection is dead. Called once per start(). */
  onDead(): void;
  onLatency(ms: number): void;
}

export interface Heartbeat {
  start(): void;
  stop(): void;
  pong(ts: number): void;
  /** Checks the deadline now (and pings if none is outstanding), e.g. when a tab becomes visible. */
  check(): void;
}

/**
 * App-level ping/pong. The deadline is a wall-clock time compared on every tick, not only a
 * timer: background tabs throttle timers to a minute or more, and a laptop that slept has
 * timers that fire late, but the clock still tells how long the pong has been missing.
 */
export function createHeartbeat(o: HeartbeatOptions): Heartbeat {
  let interval: ReturnType<typeof setInterval> | undefined;
  let deadline: ReturnType<typeof setTimeout> | undefined;
  let outstanding: number | undefined;
  let running = false;

  const clearDeadline = () => {
    if (deadline !== undefined) clearTimeout(deadline);
    deadline = undefined;
  };

  const check = () => {
    if (!running) return;
    const t = o.now();
    if (outstanding !== undefined) {
      const left = outstanding + o.timeoutMs - t;
      if (left <= 0) {
        stop();
        o.onDead();
        return;
      }
      // Not yet (a timer that fired early, or an interval tick): look again at the deadline.
      clearDeadline();
      deadline = setTimeout(check, left);
      return;
    }
    outstanding = t;
    clearDeadline();
    deadline = setTimeout(check, o.timeoutMs);
    o.sendPing(t);
  };

  const stop = () => {
    running = false;
    outstanding = undefined;
    clearDeadline();
    if (interval !== undefined) clearInterval(interval);
    interval = undefined;
  };

  return {
    start() {
      stop();
      running = true;
      interval = setInterval(check, o.intervalMs);
      check();
    },
    stop,
    pong(ts) {
      if (!running || outstanding === undefined || ts !== outstanding) return;
      o.onLatency(Math.max(0, o.now() - outstanding));
      outstanding = undefined;
      clearDeadline();
    },
    check,
  };
}

/** On-demand pings (`ping()`), told apart from the heartbeat's by their timestamp. */
export interface Pings {
  /** Sends a ping; resolves with the round trip in ms, rejects without a pong within `timeoutMs`. */
  ping(send: (ts: number) => void, timeoutMs: number): Promise<number>;
  /** Settles the ping with this timestamp and returns its round trip; undefined if it is not one. */
  pong(ts: number): number | undefined;
}

export function createPings(): Pings {
  const waiting = new Map<number, (ms: number) => void>();
  return {
    ping(send, timeoutMs) {
      let ts = performance.now();
      while (waiting.has(ts)) ts += 0.001;
      const sentAt = ts;
      return new Promise<number>((resolve, reject) => {
        const timer = setTimeout(() => {
          waiting.delete(sentAt);
          reject(new AckTimeoutError('ping', timeoutMs));
        }, timeoutMs);
        waiting.set(sentAt, (ms) => {
          clearTimeout(timer);
          resolve(ms);
        });
        send(sentAt);
      });
    },
    pong(ts) {
      const settle = waiting.get(ts);
      if (!settle) return undefined;
      waiting.delete(ts);
      const ms = performance.now() - ts;
      settle(ms);
      return ms;
    },
  };
}
