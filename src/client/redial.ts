import { safeTimeout } from './bounds.js';
import { isOffline } from './browser.js';
import type { DebugLog } from './logger.js';
import type { Timer } from './util.js';

export interface RedialOptions {
  now(): number;
  log: DebugLog;
  /** Whether the client still wants a connection (false once closed). */
  live(): boolean;
  /** Opens a connection attempt now. */
  dial(): void;
  /** The client started or stopped waiting for the browser's `online` event. */
  onOfflineChange(): void;
}

/** When the next connection attempt starts: after the backoff, past the server's retry-after, online. */
export interface Redial {
  /** Dials now, unless the retry-after has not passed or the browser is offline. */
  now(): void;
  /** Dials after `delayMs`, never before `retryAfterUntil` (wall clock). */
  after(delayMs: number, retryAfterUntil: number): void;
  /** Back online or visible again: dial at once instead of waiting out the backoff. False if nothing waited. */
  wake(why: string): boolean;
  stop(): void;
  /** Waiting for the browser to come back online. */
  readonly offline: boolean;
}

export function createRedial(o: RedialOptions): Redial {
  let timer: Timer | undefined;
  let retryAfterUntil = 0;
  let waitingOnline = false;

  const schedule = (delayMs: number) => {
    if (timer !== undefined) clearTimeout(timer);
    timer = safeTimeout(() => {
      timer = undefined;
      now();
    }, delayMs);
  };

  const now = () => {
    if (!o.live()) return;
    // Timers may fire a little early by the wall clock; a server's retry-after is a hard floor.
    const early = retryAfterUntil - o.now();
    if (early > 0) return schedule(early);
    if (isOffline()) {
      waitingOnline = true;
      o.log('offline: waiting for the online event');
      o.onOfflineChange();
      return;
    }
    o.dial();
  };

  return {
    now,
    after(delayMs, until) {
      retryAfterUntil = until;
      schedule(delayMs);
    },
    wake(why) {
      if (!waitingOnline && timer === undefined) return false;
      const was = waitingOnline;
      waitingOnline = false;
      o.log(`${why}: reconnecting now`);
      schedule(Math.max(0, retryAfterUntil - o.now()));
      if (was) o.onOfflineChange();
      return true;
    },
    stop() {
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
    },
    get offline() {
      return waitingOnline;
    },
  };
}
