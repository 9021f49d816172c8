import type { Sockets } from './connection/registry.js';
import { DEFAULTS } from './defaults.js';
import type { ResolvedBackpressure } from './monitor/backpressure.js';
import { sessionExpiringFrame } from './pipeline/frames.js';
import type { SessionManager } from './session/sessions.js';

export interface TickerOptions {
  sockets: Sockets;
  sessions: Pick<SessionManager, 'due'>;
  heartbeatMs: number;
  /** session.checkIntervalMs: how often expiry and idle time are looked at. */
  checkIntervalMs: number;
  backpressure: Pick<ResolvedBackpressure, 'maxBufferedBytes' | 'graceMs'>;
  /** dedupeTtlMs: the sweep runs often enough that an expired id is gone within a quarter of it. */
  sweepTtlMs: number;
  /** Drops expired entries of the caches (message ids, live blocks in stats). */
  sweep(): void;
  now: () => number;
}

/**
 * The server's timers, shared by every socket (a socket costs no timer of its own):
 * - the tick: transport pings (a socket that missed the previous ping is terminated), slow
 *   readers (over `maxBufferedBytes` for `graceMs`: closed 1013), session expiry, idle time and
 *   the `session_expiring` notice;
 * - the sweep of expired cache entries.
 * Returns the function that stops them.
 */
export function startTicker(o: TickerOptions): () => void {
  const { sockets, sessions, heartbeatMs, backpressure, now } = o;
  let lastPing = now();
  const tick = setInterval(
    () => {
      const t = now();
      const ping = t - lastPing >= heartbeatMs;
      if (ping) lastPing = t;
      for (const c of sockets.all) {
        if (ping) {
          if (!c.alive) {
            c.event({ event: 'connection.closed', level: 'warn', detail: 'missed heartbeat' });
            c.socket.terminate();
            continue;
          }
          c.alive = false;
          c.socket.ping();
        }
        if (c.socket.bufferedAmount > backpressure.maxBufferedBytes) {
          c.overSince ??= t;
          if (t - c.overSince >= backpressure.graceMs) c.overloaded();
        } else c.overSince = undefined;
        if (c.state !== 'open') continue;
        const due = sessions.due(c, t);
        if (due === 'expiring') {
          c.expiringSent = true;
          c.sendFrame(sessionExpiringFrame(c.expiresAt));
        } else if (due === 'expired' || due === 'idle') {
          c.event({ event: 'session.expired', level: 'info', code: 'WSG_SESSION_EXPIRED', detail: due });
          c.fail('WSG_SESSION_EXPIRED');
        }
      }
    },
    Math.min(o.checkIntervalMs, heartbeatMs),
  );
  tick.unref();
  const { sweepMinMs, sweepMaxMs } = DEFAULTS.internal;
  const sweep = setInterval(
    o.sweep,
    Math.min(sweepMaxMs, Math.max(sweepMinMs, Math.floor(o.sweepTtlMs / 4))),
  );
  sweep.unref();
  return () => {
    clearInterval(tick);
    clearInterval(sweep);
  };
}
