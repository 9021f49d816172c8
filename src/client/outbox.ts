import { APP_TYPE_PATTERN, isReservedType } from '../protocol/index.js';
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
import type { ResolvedOptions } from './options.js';
import { createMessageQueue } from './queue.js';
import { isObject, MAX_TIMER_MS, type Timer, toError } from './util.js';

/** Why application messages wait instead of going out. */
export type WaitReason =
  /** The first connection is being dialed or authenticated. */
  | 'connecting'
  /** The connection was lost; the client is dialing again (or waiting out the backoff). */
  | 'reconnecting'
  /** The browser says it is offline; the client dials again on `online`. */
  | 'offline'
  /** A session refresh is under way; sends resume on `refresh_ok`. */
  | 'refreshing'
  /** The server answered WSG_RATE_LIMITED; sends resume after its `retryAfterMs`. */
  | 'paused'
  /** The client is closed. */
  | 'closed';

/** The outbox as the `queue` event reports it. */
export interface QueueEvent {
  /** Messages waiting to be sent: queued while not connected, or waiting to be resent (`queueSize`). */
  queued: number;
  /** Messages written on the current socket and waiting for their ack. */
  inflight: number;
  /** Sends are held because the server answered WSG_RATE_LIMITED. */
  paused: boolean;
  /** Why the queued messages wait; absent when none waits. */
  reason?: WaitReason;
}

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
  /** A connection was authenticated: everything waiting goes out, resends first. */
  resume(): void;
  ack(id: unknown, result: unknown): void;
  /** The server answered `error` to message `id`. */
  refused(id: string, code: ServerErrorCode, message: string, retryAfterMs: number | undefined): void;
  /** The connection ended: what was on the wire waits for a resend on the next one. */
  disconnected(): void;
  /** The client stopped: every message rejects with ClosedError. */
  close(code: number, cause: Error | undefined): void;
  /** Reports a `queue` event if the outbox or the reason it waits changed. */
  changed(): void;
  /** Waiting to be sent or resent. */
  readonly queued: number;
  /** Sent and not yet acked (waiting for a resend included). */
  readonly pendingAcks: number;
}

interface Pending {
  readonly id: string;
  readonly type: string;
  readonly payloadJson: string | undefined;
  /** Further top-level fields of a channel control message, as `,"k":v…`. */
  readonly fieldsJson?: string;
  readonly bytes: number;
  readonly enqueuedAt: number;
  resolve(result: unknown): void;
  reject(err: Error): void;
  /** Written on the current socket and not yet answered. */
  onWire: boolean;
  firstSentAt?: number;
  ackTimer?: Timer;
  csrfUsed?: string;
  csrfRetried?: boolean;
}

type Prepared = Omit<Pending, 'resolve' | 'reject'>;

/** Checks and encodes `send()`'s argument; a bad one throws InvalidMessageError. */
export function prepareMessage(message: unknown, now: number): Prepared {
  if (!isObject(message)) throw new InvalidMessageError('type', 'send() needs { type, payload }');
  const { type, payload } = message;
  if (typeof type !== 'string' || !APP_TYPE_PATTERN.test(type) || isReservedType(type)) {
    throw new InvalidMessageError('type', `invalid message type: ${String(type).slice(0, 64)}`);
  }
  let payloadJson: string | undefined;
  try {
    payloadJson = payload === undefined ? undefined : JSON.stringify(payload);
  } catch (err) {
    throw new InvalidMessageError('payload', `payload is not JSON: ${toError(err).message}`);
  }
  if (payload !== undefined && payloadJson === undefined) {
    throw new InvalidMessageError('payload', 'payload is not JSON');
  }
  return {
    id: messageId(),
    type,
    payloadJson,
    bytes: utf8Length(type) + (payloadJson === undefined ? 0 : utf8Length(payloadJson)),
    enqueuedAt: now,
    onWire: false,
  };
}

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
      const reason = o.blocked() ?? (paused ? 'paused' : undefined);
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

  /** Writes `p` on the current socket with the session's CSRF token. `p` is in `inflight`. */
  const write = (p: Pending) => {
    const session = o.session() as SessionLink;
    const payload = p.payloadJson === undefined ? '' : `,"payload":${p.payloadJson}`;
    const frame = `{"id":${JSON.stringify(p.id)},"type":${JSON.stringify(p.type)}${payload}${p.fieldsJson ?? ''},"csrf":${JSON.stringify(session.csrf)}}`;
    if (session.maxPayload !== undefined && utf8Length(frame) > session.maxPayload) {
      settle(p);
      p.reject(
        new InvalidMessageError('too-large', `message larger than the server's ${session.maxPayload} bytes`),
      );
      return;
    }
    o.write(frame);
    p.onWire = true;
    p.csrfUsed = session.csrf;
    if (p.firstSentAt === undefined) {
      p.firstSentAt = o.now();
      p.ackTimer = setTimeout(() => ackTimedOut(p), o.ackTimeoutMs);
    }
  };

  const flushNow = () => {
    if (!writable()) return;
    let resent = 0;
    for (const p of inflight.values()) {
      if (p.onWire) continue;
      write(p);
      resent++;
      if (!writable()) return;
    }
    let sent = 0;
    while (writable()) {
      const p = queue.shift();
      if (!p) break;
      inflight.set(p.id, p);
      write(p);
      sent++;
    }
    if (writable()) needsFlush = false;
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
    pauseTimer = setTimeout(
      () => {
        pauseTimer = undefined;
        // A timer may fire a little early by the wall clock: wait out the rest, or nothing would flush.
        if (o.now() < pausedUntil) return resumeAfterPause();
        flush();
      },
      Math.max(0, pausedUntil - o.now()),
    );
  };

  /** The server asked us to wait (WSG_RATE_LIMITED): hold writes until then. */
  const pause = (ms: number) => {
    const until = o.now() + ms;
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
      if (writable() && (first || (queue.size === 0 && !needsFlush))) {
        inflight.set(p.id, p);
        write(p);
        return;
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
    resume() {
      needsFlush = true;
      flush();
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
      if (code === 'WSG_RATE_LIMITED' && o.retryRateLimited) {
        // Refused before any handler ran, so a resend is safe; keep its place in the order.
        p.onWire = false;
        needsFlush = true;
        pause(retryAfterMs ?? 1000);
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
    close(code, cause) {
      for (const t of [ttlTimer, pauseTimer]) if (t !== undefined) clearTimeout(t);
      ttlTimer = pauseTimer = undefined;
      const options = cause ? { cause } : undefined;
      for (const p of queue.drain()) {
        p.reject(new ClosedError('closed before the message was sent', false, code, options));
      }
      for (const p of [...inflight.values()]) {
        settle(p);
        p.reject(new ClosedError('closed before the message was acked', true, code, options));
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
