import { appErrorFrame, isAppError } from './app-error.js';
import type { Principal } from './connection/state.js';
import { DEFAULTS } from './defaults.js';
import { WsgError } from './errors.js';
import type { SocketEvent } from './events.js';
import type { Handler, HandlerContext } from './options.js';
import { createDedupeCache } from './pipeline/dedupe.js';
import { isChannelControl } from './pipeline/envelope.js';
import { ackFrame, errorFrame } from './pipeline/frames.js';
import type { MessageContext } from './pipeline/types.js';

/** The frame to send back (ack or error), now or later; undefined: nothing (no id). */
export type Reply = Promise<string | undefined> | string | undefined;

/** What dispatch needs of the socket a message came on. */
export interface DispatchTarget {
  readonly context: HandlerContext;
  readonly user: Principal | undefined;
  event(e: SocketEvent): void;
}

export interface Dispatcher {
  /**
   * Runs the message's handler and builds its reply. A message with an id seen within the dedupe
   * TTL gets the first reply again; its handler does not run twice.
   */
  dispatch(conn: DispatchTarget, m: MessageContext): Reply;
  /** Forgets expired message ids (the ticker calls it). */
  sweep(now: number): void;
}

export interface DispatchOptions {
  handlers: Readonly<Record<string, Handler | undefined>>;
  handlerTimeoutMs: number;
  dedupeWindow: number;
  dedupeTtlMs: number;
  /** Byte budgets of the dedupe cache: per user, in total, one reply. */
  dedupeUserBytes: number;
  dedupeTotalBytes: number;
  dedupeMaxResultBytes: number;
  /** Handler run time, ms (stats and metrics). */
  onLatency(ms: number): void;
  /** A refusal thrown on purpose (authorize said no): counted and logged like a stage's. */
  onRefused(conn: DispatchTarget, error: WsgError, m: MessageContext): void;
  /** Answers subscribe, unsubscribe and publish (the channels). */
  channelRequest(conn: DispatchTarget, m: MessageContext): string | Promise<string | undefined>;
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

export function createDispatcher(o: DispatchOptions): Dispatcher {
  const { handlers, handlerTimeoutMs, onLatency } = o;
  const dedupe = createDedupeCache({
    window: o.dedupeWindow,
    ttlMs: o.dedupeTtlMs,
    maxUsers: DEFAULTS.internal.dedupeMaxUsers,
    maxUserBytes: o.dedupeUserBytes,
    maxBytes: o.dedupeTotalBytes,
    maxEntryBytes: o.dedupeMaxResultBytes,
  });

  // Made once, not per message: a handled message allocates no closures.
  const finished = (started: number) => onLatency(performance.now() - started);
  const failed = (conn: DispatchTarget, m: MessageContext, err: unknown) => {
    // A refusal thrown on purpose (authorize said no, appError): its code, no stack, not WSG_INTERNAL.
    if (err instanceof WsgError) {
      o.onRefused(conn, err, m);
      return errorFrame(err.code, m.id, err.retryAfterMs);
    }
    if (isAppError(err)) {
      conn.event({ event: 'handler.refused', level: 'info', detail: `${m.type}: ${err.code}` });
      return appErrorFrame(err, m.id);
    }
    conn.event({
      event: 'handler.error',
      level: 'error',
      code: 'WSG_INTERNAL',
      detail: String((err as Error)?.stack ?? err),
    });
    return errorFrame('WSG_INTERNAL', m.id);
  };
  // Encoding the result can throw too (BigInt, cycles): that is the handler's error, not ours.
  const done = (conn: DispatchTarget, m: MessageContext, started: number, result: unknown) => {
    finished(started);
    if (m.id === undefined) return undefined;
    try {
      return ackFrame(m.id, result);
    } catch (err) {
      return failed(conn, m, err);
    }
  };

  const run = (conn: DispatchTarget, m: MessageContext): Reply => {
    if (isChannelControl(m.type)) return o.channelRequest(conn, m);
    const handler = handlers[m.type];
    const started = performance.now();
    if (!handler) return done(conn, m, started, undefined);
    let out: unknown;
    try {
      out = handler(conn.context, m.payload);
    } catch (err) {
      finished(started);
      return failed(conn, m, err);
    }
    if (!isThenable(out)) return done(conn, m, started, out);
    const result = Promise.resolve(out).then(
      (value) => done(conn, m, started, value),
      (err) => {
        finished(started);
        return failed(conn, m, err);
      },
    );
    return new Promise<string | undefined>((resolve) => {
      const timer = setTimeout(() => {
        conn.event({
          event: 'handler.error',
          level: 'error',
          code: 'WSG_HANDLER_TIMEOUT',
          detail: `${m.type}: no result within ${handlerTimeoutMs} ms`,
        });
        resolve(errorFrame('WSG_HANDLER_TIMEOUT', m.id));
      }, handlerTimeoutMs);
      timer.unref?.();
      // After the timeout this resolve is a no-op: the late result is dropped, its latency still counted.
      void result.then((frame) => {
        clearTimeout(timer);
        resolve(frame);
      });
    });
  };

  return {
    dispatch(conn, m) {
      // A subscription belongs to one socket: a resent subscribe must subscribe this one again.
      if (m.id === undefined || m.type === 'subscribe' || m.type === 'unsubscribe') return run(conn, m);
      const userId = (conn.user as Principal).id;
      const seen = dedupe.get(userId, m.id);
      // Handled already, its reply too large or too old to keep: never run the handler twice.
      if (seen === null) return errorFrame('WSG_RESULT_EXPIRED', m.id);
      if (seen !== undefined) return seen;
      const reply = run(conn, m);
      if (reply !== undefined) dedupe.set(userId, m.id, reply as string | Promise<string>);
      return reply;
    },
    sweep: (now) => dedupe.sweep(now),
  };
}
