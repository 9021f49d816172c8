import type { AnnouncedLimits } from '../protocol/index.js';
import { BOUNDS, safeTimeout } from './bounds.js';
import {
  AckTimeoutError,
  ClosedError,
  InvalidMessageError,
  MessageExpiredError,
  QueueOverflowError,
  ServerError,
  type ServerErrorCode,
} from './errors.js';
import { messageId, utf8Length } from './ids.js';
import type { DebugLog } from './logger.js';
import {
  isRetryable,
  type Pending,
  type Prepared,
  prepareMessage,
  type QueueEvent,
  type WaitReason,
} from './message.js';
import type { ResolvedOptions } from './options.js';
import { createPacer } from './pacer.js';
import { createMessageQueue } from './queue.js';
import { MAX_TIMER_MS, type Timer } from './util.js';

export type { QueueEvent, WaitReason } from './message.js';

/** Longest wait the client honours from a `retryAfterMs`: a larger value is a bug or hostile. */
export const MAX_RETRY_AFTER_MS = 60_000;

/** What a frame needs from the current session. */
export interface SessionLink {
  csrf: string;
  /** The server's largest frame, from `auth_ok`. */
  maxPayload: number | undefined;
}

/** The client's settings the outbox reads (`retryRateLimited`: resend after a WSG_RATE_LIMITED). */
export type OutboxSettings = Pick<ResolvedOptions, 'queue' | 'ackTimeoutMs' | 'retryRateLimited' | 'now'>;

export interface OutboxHooks {
  log: DebugLog;
  /** Why application messages cannot be written now; undefined when they can. */
  blocked(): Exclude<WaitReason, 'paused'> | undefined;
  /** The current session; defined whenever `blocked()` is undefined. */
  session(): SessionLink | undefined;
  /** Writes a frame on the current socket. */
  write(frame: string): void;
  /** The outbox (or why it waits) changed. */
  onChange(event: QueueEvent): void;
}

/** Delivery: the queue while not connected, the unacked messages, ack timeouts, TTLs, pauses. */
export interface Outbox {
  /** Validates and sends (or queues) an application message; resolves with the ack's result. */
  send(message: unknown): Promise<unknown>;
  /**
   * A channel control message (`subscribe`, `unsubscribe`, `publish`): `{id, type, ...fields,
   * csrf}`, queued, resent and acked like an application message. `first` writes it ahead of
   * everything waiting when the socket is writable (resubscribes after a reconnect, so the
   * publications queued messages cause reach this client).
   */
  sendControl(type: string, fields: Record<string, unknown>, first?: boolean): Promise<unknown>;
  /** Resends what the last connection left unacked, then the queue, in order. */
  flush(): void;
  /** A connection was authenticated with these limits: everything waiting goes out, resends first. */
  resume(limits?: AnnouncedLimits): void;
  /** `refresh_ok` announced the session's limits (undefined: it did not, keep the current ones). */
  announce(limits: AnnouncedLimits | undefined): void;
  /** A control frame (ping, refresh) goes out: it takes from the same buckets. Returns it. */
  control(frame: string): string;
  ack(id: unknown, result: unknown): void;
  /** The server answered `error` to message `id`. */
  refused(id: string, code: ServerErrorCode, message: string, retryAfterMs: number | undefined): void;
  /** The connection ended: what was on the wire waits for a resend on the next one. */
  disconnected(): void;
  /** The client stopped: every message rejects with ClosedError, saying why (`cause`, `errorCode`). */
  close(code: number, cause: Error | undefined, errorCode?: ServerErrorCode): void;
  /** Reports a `queue` event if the outbox or the reason it waits changed. */
  changed(): void;
  /** Waiting to be sent or resent. */
  readonly queued: number;
  /** Sent and not yet acked (waiting for a resend included). */
  readonly pendingAcks: number;
}

export { prepareMessage };

export function createOutbox(settings: OutboxSettings, hooks: OutboxHooks): Outbox {
  const o = { ...settings, ...hooks };
  const queue = createMessageQueue<Pending>(o.queue);
  /** Sent at least once and not yet answered, in first-send order. */
  const inflight = new Map<string, Pending>();
  /** Something waits for a resend, so a new message may not jump ahead of it. */
  let needsFlush = false;
  let pausedUntil = 0;
  let pauseTimer: Timer | undefined;
  let ttlTimer: Timer | undefined;
  const pacer = createPacer(o.now);
  /** Set while the head of the line waits for the buckets; cleared when it may go. */
  let paceTimer: Timer | undefined;
  let last: QueueEvent = { queued: 0, inflight: 0, paused: false };

  const writable = () => o.blocked() === undefined && o.now() >= pausedUntil;

  const queued = () => {
    let waiting = 0;
    for (const p of inflight.values()) if (!p.onWire) waiting++;
    return queue.size + waiting;
  };

  const changed = () => {
    let onWire = 0;
    for (const p of inflight.values()) if (p.onWire) onWire++;
    const waiting = queue.size + inflight.size - onWire;
    const paused = o.now() < pausedUntil;
    const event: QueueEvent = { queued: waiting, inflight: onWire, paused };
    if (waiting > 0) {
      const reason = o.blocked() ?? (paused ? 'paused' : paceTimer !== undefined ? 'paced' : undefined);
      if (reason !== undefined) event.reason = reason;
    }
    if (
      event.queued === last.queued &&
      event.inflight === last.inflight &&
      event.paused === last.paused &&
      event.reason === last.reason
    ) {
      return;
    }
    last = event;
    o.onChange({ ...event });
  };

  /** Removes `p` from the books (its promise is settled by the caller). */
  const settle = (p: Pending) => {
    inflight.delete(p.id);
    if (p.ackTimer !== undefined) clearTimeout(p.ackTimer);
  };

  const ackTimedOut = (p: Pending) => {
    if (inflight.get(p.id) !== p) return;
    settle(p);
    o.log('ack timeout', { id: p.id, type: p.type });
    p.reject(new AckTimeoutError(p.id, o.ackTimeoutMs));
    changed();
  };

  const paceAgainIn = (ms: number) => {
    if (paceTimer !== undefined) return;
    o.log('paced', { ms });
    paceTimer = setTimeout(
      () => {
        paceTimer = undefined;
        flush();
      },
      Math.min(MAX_TIMER_MS, Math.max(1, ms)),
    );
  };

  /**
   * Writes `p` on the current socket with the session's CSRF token if the buckets allow it now;
   * false when it must wait (a timer flushes again). `p` is in `inflight`.
   */
  const write = (p: Pending): boolean => {
    const session = o.session() as SessionLink;
    const payload = p.payloadJson === undefined ? '' : `,"payload":${p.payloadJson}`;
    const frame = `{"id":${JSON.stringify(p.id)},"type":${JSON.stringify(p.type)}${payload}${p.fieldsJson ?? ''},"csrf":${JSON.stringify(session.csrf)}}`;
    const bytes = utf8Length(frame);
    if (session.maxPayload !== undefined && bytes > session.maxPayload) {
      settle(p);
      p.reject(
        new InvalidMessageError('too-large', `message larger than the server's ${session.maxPayload} bytes`),
      );
      return true;
    }
    if (paceTimer !== undefined) return false;
    const wait = pacer.wait(p.type, bytes);
    if (wait > 0) {
      paceAgainIn(wait);
      return false;
    }
    pacer.take(p.type, bytes);
    o.write(frame);
    p.onWire = true;
    p.csrfUsed = session.csrf;
    if (p.firstSentAt === undefined) {
      p.firstSentAt = o.now();
      p.ackTimer = setTimeout(() => ackTimedOut(p), o.ackTimeoutMs);
    }
    return true;
  };

  const flushNow = () => {
    if (!writable()) return;
    let resent = 0;
    for (const p of inflight.values()) {
      if (p.onWire) continue;
      if (!write(p)) return logFlushed(resent, 0);
      resent++;
      if (!writable()) return logFlushed(resent, 0);
    }
    let sent = 0;
    while (writable()) {
      const p = queue.peek();
      if (!p) break;
      inflight.set(p.id, p);
      if (!write(p)) {
        inflight.delete(p.id);
        break;
      }
      queue.shift();
      sent++;
    }
    if (writable() && paceTimer === undefined) needsFlush = false;
    logFlushed(resent, sent);
  };

  const logFlushed = (resent: number, sent: number) => {
    if (resent + sent > 0) o.log('flushed', { resent, sent, queued: queue.size });
  };

  const flush = () => {
    flushNow();
    changed();
  };

  const scheduleExpiry = () => {
    if (ttlTimer !== undefined) return;
    const at = queue.nextExpiry();
    if (at === undefined) return;
    ttlTimer = setTimeout(
      () => {
        ttlTimer = undefined;
        const expired = queue.expire(o.now());
        if (expired.length > 0) o.log('expired in queue', { count: expired.length });
        for (const p of expired) p.reject(new MessageExpiredError(o.queue.ttlMs));
        scheduleExpiry();
        changed();
      },
      Math.min(MAX_TIMER_MS, Math.max(0, at - o.now())),
    );
  };

  const resumeAfterPause = () => {
    if (pauseTimer !== undefined) clearTimeout(pauseTimer);
    pauseTimer = safeTimeout(
      () => {
        pauseTimer = undefined;
        // A timer may fire a little early by the wall clock: wait out the rest, or nothing would flush.
        if (o.now() < pausedUntil) return resumeAfterPause();
        flush();
      },
      Math.min(MAX_TIMER_MS, Math.max(0, pausedUntil - o.now())),
    );
  };

  /** The server asked us to wait (WSG_RATE_LIMITED): hold writes until then. */
  const pause = (ms: number) => {
    const until = o.now() + Math.min(ms, BOUNDS.maxSendPauseMs);
    if (until <= pausedUntil) return;
    pausedUntil = until;
    o.log('paused by the server', { ms });
    resumeAfterPause();
  };

  const submit = (prepared: Prepared, first = false) => {
    if (o.blocked() === 'closed') return Promise.reject(new ClosedError('the client is closed', false));
    const sent = new Promise<unknown>((resolve, reject) => {
      const p = prepared as Pending;
      p.resolve = resolve;
      p.reject = reject;
      if (writable() && (first || (queue.size === 0 && !needsFlush && paceTimer === undefined))) {
        inflight.set(p.id, p);
        if (write(p)) return;
        if (!first) inflight.delete(p.id);
        else {
          // Paced: it waits as a resend, and resends go ahead of the queue.
          needsFlush = true;
          return;
        }
      }
      const { accepted, dropped } = queue.push(p);
      for (const d of dropped) d.reject(new QueueOverflowError('drop-oldest'));
      if (!accepted) return reject(new QueueOverflowError('reject-new'));
      o.log('queued', { id: p.id, type: p.type, queued: queue.size });
      scheduleExpiry();
    });
    changed();
    return sent;
  };

  return {
    send(message) {
      let prepared: Prepared;
      try {
        prepared = prepareMessage(message, o.now());
      } catch (err) {
        return Promise.reject(err);
      }
      return submit(prepared);
    },
    sendControl(type, fields, first) {
      let fieldsJson = '';
      for (const [k, v] of Object.entries(fields)) fieldsJson += `,${JSON.stringify(k)}:${JSON.stringify(v)}`;
      return submit(
        {
          id: messageId(),
          type,
          payloadJson: undefined,
          fieldsJson,
          bytes: utf8Length(type) + utf8Length(fieldsJson),
          enqueuedAt: o.now(),
          onWire: false,
        },
        first === true,
      );
    },
    flush,
    resume(limits) {
      // A pause asked for on an earlier connection does not outlive it.
      pausedUntil = 0;
      pacer.update(limits);
      pacer.newSocket();
      needsFlush = true;
      flush();
    },
    announce(limits) {
      if (limits !== undefined) pacer.update(limits);
    },
    control(frame) {
      pacer.control(utf8Length(frame));
      return frame;
    },
    ack(id, result) {
      const p = typeof id === 'string' ? inflight.get(id) : undefined;
      if (!p) return;
      settle(p);
      p.resolve(result);
      changed();
    },
    refused(id, code, message, retryAfterMs) {
      const p = inflight.get(id);
      if (!p) return;
      if (
        o.retryRateLimited &&
        (code === 'WSG_RATE_LIMITED' || (isRetryable(code) && retryAfterMs !== undefined))
      ) {
        // Refused before any handler ran, so a resend of the same id is safe; keep its place in
        // the order. It gives up at its ack deadline (AckTimeoutError).
        p.onWire = false;
        needsFlush = true;
        pacer.drain();
        pause(Math.min(MAX_RETRY_AFTER_MS, retryAfterMs ?? 1000));
        changed();
        return;
      }
      if (code === 'WSG_CSRF_INVALID' && !p.csrfRetried && p.csrfUsed !== o.session()?.csrf) {
        // Sent with the token a refresh just rotated: resend once with the new one.
        p.csrfRetried = true;
        p.onWire = false;
        needsFlush = true;
        flush();
        return;
      }
      settle(p);
      p.reject(new ServerError(code, message, retryAfterMs));
      changed();
    },
    disconnected() {
      for (const p of inflight.values()) {
        if (p.onWire) {
          p.onWire = false;
          needsFlush = true;
        }
      }
    },
    close(code, cause, errorCode) {
      for (const t of [ttlTimer, pauseTimer, paceTimer]) if (t !== undefined) clearTimeout(t);
      ttlTimer = pauseTimer = paceTimer = undefined;
      const options = { ...(cause ? { cause } : {}), ...(errorCode ? { errorCode } : {}) };
      const why = cause ? `: ${cause.message}` : '';
      for (const p of queue.drain()) {
        p.reject(new ClosedError(`closed before the message was sent${why}`, false, code, options));
      }
      for (const p of [...inflight.values()]) {
        settle(p);
        p.reject(new ClosedError(`closed before the message was acked${why}`, true, code, options));
      }
      changed();
    },
    changed,
    get queued() {
      return queued();
    },
    get pendingAcks() {
      return inflight.size;
    },
  };
}
