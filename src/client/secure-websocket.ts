import type {
  AnyChannels,
  ChannelEvents,
  ChannelMap,
  ChannelName,
  ChannelPublish,
} from '../protocol/define.js';
import {
  APP_TYPE_PATTERN,
  BEARER_SUBPROTOCOL_PREFIX,
  ErrorCodes,
  isErrorCode,
  isReservedType,
  SUBPROTOCOL,
} from '../protocol/index.js';
import { backoffDelay } from './backoff.js';
import { isOffline, watchBrowser } from './browser.js';
import {
  type ChannelManager,
  createChannelManager,
  type SubscribeHandlers,
  type Subscription,
} from './channels.js';
import { type CloseCause, type CloseInfo, decideClose, withReason } from './close-policy.js';
import { createEmitter, type Emitter } from './emitter.js';
import {
  AckTimeoutError,
  AuthError,
  ClosedError,
  ConnectionError,
  InvalidMessageError,
  MessageExpiredError,
  QueueOverflowError,
  SERVER_ERROR_CODE_PATTERN,
  SecureWebSocketError,
  ServerError,
  type ServerErrorCode,
} from './errors.js';
import { createHeartbeat, type Heartbeat } from './heartbeat.js';
import { messageId, utf8Length } from './ids.js';
import { readJwtExpiry } from './jwt.js';
import { createDebugLog, type DebugLog } from './logger.js';
import {
  type IncomingMap,
  type IncomingMessage,
  type OutgoingMap,
  type ResolvedOptions,
  resolveOptions,
  resolveUrl,
  type SecureWebSocketOptions,
} from './options.js';
import { createMessageQueue, type MessageQueue } from './queue.js';
import { createTokenSource, type TokenSource } from './token-source.js';
import { openTransport, resolveWebSocket, type Transport, type TransportClose } from './transport.js';

export type ClientState = 'connecting' | 'authenticating' | 'open' | 'reconnecting' | 'closed';

export interface OpenEvent {
  sessionId: string;
  /** Session expiry (server clock), ms since the epoch. */
  expiresAt: number | undefined;
  /** False for the first connection, true after a reconnect. */
  reconnected: boolean;
}

export interface CloseEvent extends CloseInfo {
  /** Whether the client will reconnect (after `delayMs`). */
  willReconnect: boolean;
  delayMs?: number;
  /** Why the client stopped for good, when it did on its own. */
  error?: Error;
}

export interface StateChangeEvent {
  from: ClientState;
  to: ClientState;
}

/** Lifecycle events. `message` is untyped here; `on(type)` and `onMessage` give typed payloads. */
export interface ClientEventMap {
  /** Authenticated (first time and after every reconnect). */
  open: OpenEvent;
  /** A connection ended; `willReconnect` says what happens next. */
  close: CloseEvent;
  /** Every application event from the server. */
  message: IncomingMessage<IncomingMap>;
  stateChange: StateChangeEvent;
  /** Something went wrong that is not tied to one `send()`: auth refused, a listener threw, ... */
  error: Error;
}

/** The payload part of `send()`'s argument: optional when the type's payload may be undefined. */
export type OutgoingMessage<Out extends OutgoingMap, T extends keyof Out & string> = {
  type: T;
} & (undefined extends Out[T]['payload'] ? { payload?: Out[T]['payload'] } : { payload: Out[T]['payload'] });

export type ResultOf<S> = S extends { result: infer R } ? R : unknown;

type Timer = ReturnType<typeof setTimeout>;

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

interface Session {
  id: string;
  csrf: string;
  expiresAt: number | undefined;
  maxPayload: number | undefined;
}

/** Earliest a scheduled refresh may run, so a nearly expired token cannot cause a refresh loop. */
const MIN_REFRESH_DELAY_MS = 1000;
const MAX_TIMER_MS = 2 ** 31 - 1;
const MAX_SECRETS = 16;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function toError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

/**
 * A WebSocket that stays connected and authenticated: token auth, CSRF on every application
 * message, acks, a bounded queue while disconnected, backoff reconnects with a close-code
 * policy, session refresh and health pings. A class because it is one long-lived state machine.
 *
 * `Out` maps outgoing types to `{ payload, result }`; `In` maps incoming event types to payloads;
 * `Ch` maps channel patterns to their events (see `defineProtocol` and `ChannelsOf`).
 */
export class SecureWebSocket<
  Out extends OutgoingMap = OutgoingMap,
  In extends IncomingMap = IncomingMap,
  Ch extends ChannelMap = AnyChannels,
> {
  private _state: ClientState = 'connecting';
  private readonly opts: ResolvedOptions;
  private readonly url: string;
  private readonly tokens: TokenSource;
  private readonly log: DebugLog;
  private readonly events: Emitter<ClientEventMap>;
  private readonly appEvents: Emitter<Record<string, unknown>>;
  private readonly queue: MessageQueue<Pending>;
  /** Sent at least once and not yet answered, in first-send order. */
  private readonly inflight = new Map<string, Pending>();
  private readonly options: SecureWebSocketOptions<IncomingMap>;
  private readonly heartbeat: Heartbeat | undefined;
  private readonly secrets: string[] = [];
  private readonly unwatch: () => void;
  private readonly channels: ChannelManager;

  private transport: Transport | undefined;
  /** Bumped whenever a connection attempt is superseded, so stale callbacks do nothing. */
  private gen = 0;
  private attempts = 0;
  private authRetried = false;
  private lastAuthError: AuthError | undefined;
  private session: Session | undefined;
  private currentToken: string | undefined;
  private openedAt: number | undefined;
  private everOpened = false;
  private needsFlush = false;
  private refreshing = false;
  private refreshToken: string | undefined;
  private pausedUntil = 0;
  private retryAfterUntil = 0;
  private waitingOnline = false;
  private latency: number | undefined;
  /** On-demand pings waiting for their pong, by timestamp. */
  private readonly pings = new Map<number, (ms: number) => void>();
  private connectTimer: Timer | undefined;
  private retryTimer: Timer | undefined;
  private ttlTimer: Timer | undefined;
  private refreshTimer: Timer | undefined;
  private refreshTimeout: Timer | undefined;
  private pauseTimer: Timer | undefined;

  constructor(options: SecureWebSocketOptions<In>) {
    this.opts = resolveOptions(options as SecureWebSocketOptions<IncomingMap>);
    this.url = resolveUrl(options.url);
    this.options = options as SecureWebSocketOptions<IncomingMap>;
    this.tokens = createTokenSource({
      authToken: options.authToken,
      getToken: options.getToken,
      inProtocol: this.opts.authTransport === 'protocol',
    });
    if (options.authToken !== undefined) this.remember(options.authToken);
    this.log = createDebugLog({
      enabled: options.debug === true,
      logger: options.logger,
      secrets: () => this.secrets,
    });
    this.events = createEmitter<ClientEventMap>((err, type) => this.listenerFailed(err, String(type)));
    this.appEvents = createEmitter<Record<string, unknown>>((err, type) =>
      this.listenerFailed(err, String(type)),
    );
    this.queue = createMessageQueue<Pending>(this.opts.queue);
    this.channels = createChannelManager({
      send: (type, fields) => this.sendControl(type, fields),
      log: (message, data) => this.log(message, data),
      listenerFailed: (err, where) => this.listenerFailed(err, where),
    });
    this.events.on('open', (e) => e.reconnected && this.channels.reconnected());
    this.events.on('close', (e) =>
      e.willReconnect
        ? this.channels.connectionLost()
        : this.channels.closed(e.error ?? new ClosedError('the client is closed', false, e.code)),
    );
    const hb = this.opts.heartbeat;
    this.heartbeat = hb
      ? createHeartbeat({
          intervalMs: hb.intervalMs,
          timeoutMs: hb.timeoutMs,
          now: this.opts.now,
          sendPing: (ts) => this.transport?.send(`{"type":"ping","ts":${ts}}`),
          onDead: () => {
            this.log('no pong by the deadline: connection is dead');
            this.drop('pong-timeout', 1006);
          },
          onLatency: (ms) => {
            this.latency = ms;
          },
        })
      : undefined;
    this.unwatch = watchBrowser({
      online: () => this.wake('online'),
      offline: () => {
        if (this._state === 'open') this.heartbeat?.check();
      },
      visible: () => {
        if (this._state === 'open') this.heartbeat?.check();
        else this.wake('visible');
      },
    });
    this.log('created', { url: this.url, authTransport: this.opts.authTransport });
    this.dialWhenOnline();
  }

  /** `connecting | authenticating | open | reconnecting | closed`. */
  get state(): ClientState {
    return this._state;
  }

  /** Messages waiting to be sent: queued while not connected, or waiting to be resent. */
  get queueSize(): number {
    let waiting = 0;
    for (const p of this.inflight.values()) if (!p.onWire) waiting++;
    return this.queue.size + waiting;
  }

  /** Messages sent and not yet acked. */
  get pendingAcks(): number {
    return this.inflight.size;
  }

  /** Round trip of the last app-level ping, in ms; undefined before the first pong. */
  get latencyMs(): number | undefined {
    return this.latency;
  }

  /** The current session's id, while open. */
  get sessionId(): string | undefined {
    return this.session?.id;
  }

  /**
   * Sends an application message; resolves with the ack's `result` once the server handled it.
   * While not connected it is queued. A rejection is always a `SecureWebSocketError` whose
   * `maybeHandled` says whether the server could have handled the message anyway.
   */
  send<T extends keyof Out & string>(message: OutgoingMessage<Out, T>): Promise<ResultOf<Out[T]>> {
    let pending: Omit<Pending, 'resolve' | 'reject'>;
    try {
      pending = this.prepare(message as { type: unknown; payload?: unknown });
    } catch (err) {
      return Promise.reject(err);
    }
    return this.submit(pending) as Promise<ResultOf<Out[T]>>;
  }

  /**
   * Subscribes to a channel; resolves with the handle once the server acked, rejects with a
   * `ServerError` (WSG_FORBIDDEN, WSG_UNKNOWN_CHANNEL, WSG_TOO_MANY_SUBSCRIPTIONS, ...) when it
   * refused. The client resubscribes after every reconnect (the server authorizes again).
   */
  subscribe<C extends ChannelName<Ch>>(
    channel: C,
    handlers: SubscribeHandlers<ChannelEvents<Ch, C>>,
  ): Promise<Subscription> {
    return this.channels.subscribe(channel, handlers as SubscribeHandlers);
  }

  /** Publishes an event the channel declares for clients; resolves on the server's ack. */
  publish<C extends ChannelName<Ch>, E extends keyof ChannelPublish<Ch, C> & string>(
    channel: C,
    event: E,
    payload: ChannelPublish<Ch, C>[E],
  ): Promise<void> {
    return this.channels.publish(channel, event, payload);
  }

  /** Channels this client is subscribed (or subscribing) to. */
  get subscriptions(): string[] {
    return this.channels.channels();
  }

  /** A channel control message (`subscribe`, `unsubscribe`, `publish`), queued and acked like `send()`. */
  private sendControl(type: string, fields: Record<string, unknown>): Promise<unknown> {
    let fieldsJson = '';
    for (const [k, v] of Object.entries(fields)) fieldsJson += `,${JSON.stringify(k)}:${JSON.stringify(v)}`;
    return this.submit({
      id: messageId(),
      type,
      payloadJson: undefined,
      fieldsJson,
      bytes: utf8Length(type) + utf8Length(fieldsJson),
      enqueuedAt: this.opts.now(),
      onWire: false,
    });
  }

  private submit(pending: Omit<Pending, 'resolve' | 'reject'>): Promise<unknown> {
    if (this._state === 'closed') return Promise.reject(new ClosedError('the client is closed', false));
    return new Promise<unknown>((resolve, reject) => {
      const p = pending as Pending;
      p.resolve = resolve;
      p.reject = reject;
      if (this.writable() && this.queue.size === 0 && !this.needsFlush) {
        this.inflight.set(p.id, p);
        this.write(p);
        return;
      }
      const { accepted, dropped } = this.queue.push(p);
      for (const d of dropped) d.reject(new QueueOverflowError('drop-oldest'));
      if (!accepted) return reject(new QueueOverflowError('reject-new'));
      this.log('queued', { id: p.id, type: p.type, queued: this.queue.size });
      this.scheduleExpiry();
    });
  }

  /** Listens to an application event type; returns the unsubscribe function. */
  on<T extends keyof In & string>(type: T, handler: (payload: In[T]) => void): () => void {
    return this.appEvents.on(type, handler as (arg: unknown) => void);
  }

  /** Listens to a lifecycle event (`open`, `close`, `message`, `stateChange`, `error`); returns the unsubscribe. */
  addEventListener<K extends keyof ClientEventMap>(
    type: K,
    listener: (event: ClientEventMap[K]) => void,
  ): () => void {
    return this.events.on(type, listener);
  }

  removeEventListener<K extends keyof ClientEventMap>(
    type: K,
    listener: (event: ClientEventMap[K]) => void,
  ): void {
    this.events.off(type, listener);
  }

  /**
   * Sends an app-level ping now and resolves with the round trip in ms. Rejects with
   * ClosedError when not open, or AckTimeoutError without a pong within `timeoutMs`.
   */
  ping(timeoutMs = 5000): Promise<number> {
    if (this.state !== 'open' || !this.transport) {
      return Promise.reject(new ClosedError('not open', false));
    }
    let ts = performance.now();
    while (this.pings.has(ts)) ts += 0.001;
    const sentAt = ts;
    return new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pings.delete(sentAt);
        reject(new AckTimeoutError('ping', timeoutMs));
      }, timeoutMs);
      this.pings.set(sentAt, (ms) => {
        clearTimeout(timer);
        resolve(ms);
      });
      this.transport?.send(JSON.stringify({ type: 'ping', ts: sentAt }));
    });
  }

  /**
   * Closes for good: no reconnect. Queued messages reject with ClosedError (`maybeHandled:
   * false`); sent but unacked ones with ClosedError (`maybeHandled: true`).
   */
  close(code = 1000, reason = ''): void {
    if (this._state === 'closed') return;
    const t = this.transport;
    this.transport = undefined;
    t?.close(code, reason);
    this.finish({ code, reason, cause: 'client', attempt: this.attempts });
  }

  // Sending

  private prepare(message: { type: unknown; payload?: unknown }): Omit<Pending, 'resolve' | 'reject'> {
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
      enqueuedAt: this.opts.now(),
      onWire: false,
    };
  }

  private writable(): boolean {
    return (
      this._state === 'open' &&
      this.transport !== undefined &&
      !this.refreshing &&
      this.opts.now() >= this.pausedUntil
    );
  }

  /** Writes `p` on the current socket with the session's CSRF token. `p` is in `inflight`. */
  private write(p: Pending): void {
    const session = this.session as Session;
    const payload = p.payloadJson === undefined ? '' : `,"payload":${p.payloadJson}`;
    const frame = `{"id":${JSON.stringify(p.id)},"type":${JSON.stringify(p.type)}${payload}${p.fieldsJson ?? ''},"csrf":${JSON.stringify(session.csrf)}}`;
    if (session.maxPayload !== undefined && utf8Length(frame) > session.maxPayload) {
      this.settle(p);
      p.reject(
        new InvalidMessageError('too-large', `message larger than the server's ${session.maxPayload} bytes`),
      );
      return;
    }
    (this.transport as Transport).send(frame);
    p.onWire = true;
    p.csrfUsed = session.csrf;
    if (p.firstSentAt === undefined) {
      p.firstSentAt = this.opts.now();
      p.ackTimer = setTimeout(() => this.ackTimedOut(p), this.opts.ackTimeoutMs);
    }
  }

  /** Resends what the last connection left unacked, then the queue, in order. */
  private flush(): void {
    if (!this.writable()) return;
    let resent = 0;
    for (const p of this.inflight.values()) {
      if (p.onWire) continue;
      this.write(p);
      resent++;
      if (!this.writable()) return;
    }
    let sent = 0;
    while (this.writable()) {
      const p = this.queue.shift();
      if (!p) break;
      this.inflight.set(p.id, p);
      this.write(p);
      sent++;
    }
    if (this.writable()) this.needsFlush = false;
    if (resent + sent > 0) this.log('flushed', { resent, sent, queued: this.queue.size });
  }

  /** Removes `p` from the books (its promise is settled by the caller). */
  private settle(p: Pending): void {
    this.inflight.delete(p.id);
    if (p.ackTimer !== undefined) clearTimeout(p.ackTimer);
  }

  private ackTimedOut(p: Pending): void {
    if (this.inflight.get(p.id) !== p) return;
    this.settle(p);
    this.log('ack timeout', { id: p.id, type: p.type });
    p.reject(new AckTimeoutError(p.id, this.opts.ackTimeoutMs));
  }

  private scheduleExpiry(): void {
    if (this.ttlTimer !== undefined) return;
    const at = this.queue.nextExpiry();
    if (at === undefined) return;
    this.ttlTimer = setTimeout(
      () => {
        this.ttlTimer = undefined;
        const expired = this.queue.expire(this.opts.now());
        if (expired.length > 0) this.log('expired in queue', { count: expired.length });
        for (const p of expired) p.reject(new MessageExpiredError(this.opts.queue.ttlMs));
        this.scheduleExpiry();
      },
      Math.min(MAX_TIMER_MS, Math.max(0, at - this.opts.now())),
    );
  }

  /** The server asked us to wait (WSG_RATE_LIMITED): hold writes until then. */
  private pause(ms: number): void {
    const until = this.opts.now() + ms;
    if (until <= this.pausedUntil) return;
    this.pausedUntil = until;
    this.log('paused by the server', { ms });
    this.resumeAfterPause();
  }

  private resumeAfterPause(): void {
    if (this.pauseTimer !== undefined) clearTimeout(this.pauseTimer);
    this.pauseTimer = setTimeout(
      () => {
        this.pauseTimer = undefined;
        // A timer may fire a little early by the wall clock: wait out the rest, or nothing would flush.
        if (this.opts.now() < this.pausedUntil) return this.resumeAfterPause();
        this.flush();
      },
      Math.max(0, this.pausedUntil - this.opts.now()),
    );
  }

  // Connecting

  private dialWhenOnline(): void {
    if (this._state === 'closed') return;
    // Timers may fire a little early by the wall clock; a server's retry-after is a hard floor.
    const early = this.retryAfterUntil - this.opts.now();
    if (early > 0) return this.scheduleDial(early);
    if (isOffline()) {
      this.waitingOnline = true;
      this.log('offline: waiting for the online event');
      return;
    }
    this.dial();
  }

  private scheduleDial(delayMs: number): void {
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.dialWhenOnline();
    }, delayMs);
  }

  /** Back online, or the page is visible again: retry now instead of waiting out the backoff. */
  private wake(why: string): void {
    if (this._state !== 'reconnecting' && this._state !== 'connecting') return;
    if (!this.waitingOnline && this.retryTimer === undefined) return;
    this.waitingOnline = false;
    this.log(`${why}: reconnecting now`);
    this.scheduleDial(Math.max(0, this.retryAfterUntil - this.opts.now()));
  }

  private dial(): void {
    const gen = ++this.gen;
    this.connectTimer = setTimeout(() => {
      if (gen !== this.gen) return;
      this.log('connect timeout');
      this.drop('connect-timeout', 1006);
    }, this.opts.connectTimeoutMs);
    this.spawn(this.openSocket(gen));
  }

  private async openSocket(gen: number): Promise<void> {
    let token: string;
    let Ctor: Awaited<ReturnType<typeof resolveWebSocket>>;
    try {
      [token, Ctor] = await Promise.all([this.tokens.get(), resolveWebSocket(this.options.WebSocket)]);
    } catch (err) {
      if (gen !== this.gen || this._state === 'closed') return;
      if (err instanceof ConnectionError) return this.fatal(err);
      this.emitError(toError(err));
      this.lost({ code: 1006, reason: '', cause: 'token', attempt: this.attempts });
      return;
    }
    if (gen !== this.gen || this._state === 'closed') return;
    this.remember(token);
    this.currentToken = token;
    const protocols = [SUBPROTOCOL];
    if (this.opts.authTransport === 'protocol') protocols.push(BEARER_SUBPROTOCOL_PREFIX + token);
    try {
      this.transport = openTransport(Ctor, this.url, protocols, {
        open: () => {
          if (gen !== this.gen) return;
          this.setState('authenticating');
          if (this.opts.authTransport === 'message' && gen === this.gen) {
            this.transport?.send(JSON.stringify({ type: 'auth', token }));
            this.log('auth sent');
          }
        },
        message: (text) => {
          if (gen === this.gen) this.onFrame(text);
        },
        close: (info) => {
          if (gen === this.gen) this.onTransportClose(info);
        },
      });
    } catch (err) {
      this.fatal(new ConnectionError('cannot open the WebSocket', { cause: err }));
      return;
    }
    this.log('dialing', { attempt: this.attempts });
  }

  private onTransportClose(t: TransportClose): void {
    this.transport = undefined;
    const info: CloseInfo = {
      code: t.code,
      reason: t.reason,
      cause: t.code === 1006 || t.httpStatus !== undefined ? 'network' : 'server',
      attempt: this.attempts,
    };
    if (t.httpStatus !== undefined) info.httpStatus = t.httpStatus;
    if (t.retryAfterMs !== undefined) info.retryAfterMs = t.retryAfterMs;
    withReason(info);
    if (this.refreshing && t.code === 4401) info.cause = 'refresh-failed';
    this.log('socket closed', { code: info.code, reason: info.reason, httpStatus: info.httpStatus });
    this.lost(info);
  }

  /** The client gives up on the current connection itself. */
  private drop(cause: CloseCause, code: number): void {
    const t = this.transport;
    this.transport = undefined;
    if (cause === 'refresh-failed' || cause === 'protocol') t?.close(1000, '');
    else t?.abandon();
    this.lost({ code, reason: '', cause, attempt: this.attempts });
  }

  /** A connection (or an attempt) ended: decide between reconnecting and stopping. */
  private lost(info: CloseInfo): void {
    if (this._state === 'closed') return;
    const now = this.opts.now();
    if (
      this._state === 'open' &&
      this.openedAt !== undefined &&
      now - this.openedAt >= this.reconnectMinUptime()
    ) {
      this.attempts = 0;
      info.attempt = 0;
    }
    this.endConnection();
    const decision =
      this.opts.reconnect === false
        ? { action: 'stop' as const, retryAfterMs: 0 }
        : decideClose(info, this.options.shouldReconnect);
    let action = decision.action;
    let error: Error | undefined;
    const authRefused = info.code === 4401 || info.httpStatus === 401 || info.cause === 'refresh-failed';
    if (action === 'reauth') {
      if (this.authRetried) action = 'stop';
      else this.authRetried = true;
    }
    if (action !== 'stop' && this.opts.reconnect !== false) {
      this.attempts++;
      if (this.attempts > this.opts.reconnect.maxRetries) {
        action = 'stop';
        error = new ConnectionError(`gave up after ${this.opts.reconnect.maxRetries} reconnect attempts`);
      }
    }
    if (action === 'stop') {
      if (!error && authRefused) {
        error =
          this.lastAuthError ??
          new AuthError('the server refused the token', info.errorCode ?? 'WSG_AUTH_FAILED');
      } else if (!error && info.code !== 1000) {
        const what = info.httpStatus !== undefined ? `HTTP ${info.httpStatus}` : `close ${info.code}`;
        error = new ConnectionError(
          `the server ended the connection for good (${what} ${info.errorCode ?? ''})`.trim(),
        );
      }
      this.finish(info, error);
      return;
    }
    const delay =
      info.cause === 'refresh-failed'
        ? 0
        : Math.max(
            backoffDelay(this.attempts - 1, this.opts.backoff, this.opts.random),
            decision.retryAfterMs,
          );
    this.retryAfterUntil = now + decision.retryAfterMs;
    this.setState('reconnecting');
    this.log('reconnecting', { code: info.code, cause: info.cause, attempt: this.attempts, delayMs: delay });
    this.scheduleDial(delay);
    this.events.emit('close', { ...info, willReconnect: true, delayMs: delay });
  }

  private reconnectMinUptime(): number {
    return this.opts.reconnect === false ? 0 : this.opts.reconnect.minUptimeMs;
  }

  /** Forgets the current connection: its timers, its session; unacked messages wait for a resend. */
  private endConnection(): void {
    this.gen++;
    this.clearConnectTimer();
    this.heartbeat?.stop();
    this.clearRefresh();
    this.session = undefined;
    this.openedAt = undefined;
    for (const p of this.inflight.values()) {
      if (p.onWire) {
        p.onWire = false;
        this.needsFlush = true;
      }
    }
  }

  private fatal(error: ConnectionError): void {
    const t = this.transport;
    this.transport = undefined;
    t?.abandon();
    this.finish({ code: 1006, reason: '', cause: 'network', attempt: this.attempts }, error);
  }

  /** The end: reject everything still pending and report. */
  private finish(info: CloseInfo, error?: Error): void {
    if (this._state === 'closed') return;
    this.endConnection();
    for (const t of [this.retryTimer, this.ttlTimer, this.pauseTimer]) if (t !== undefined) clearTimeout(t);
    this.retryTimer = this.ttlTimer = this.pauseTimer = undefined;
    this.unwatch();
    this.setState('closed');
    const cause = error ? { cause: error } : undefined;
    for (const p of this.queue.drain()) {
      p.reject(new ClosedError('closed before the message was sent', false, info.code, cause));
    }
    for (const p of [...this.inflight.values()]) {
      this.settle(p);
      p.reject(new ClosedError('closed before the message was acked', true, info.code, cause));
    }
    if (error) this.emitError(error);
    this.log('closed', { code: info.code, cause: info.cause });
    this.events.emit(
      'close',
      error ? { ...info, willReconnect: false, error } : { ...info, willReconnect: false },
    );
  }

  // Receiving

  private onFrame(text: string): void {
    let msg: unknown;
    try {
      msg = JSON.parse(text);
    } catch {
      this.log('ignored a frame that is not JSON');
      return;
    }
    if (!isObject(msg) || typeof msg.type !== 'string') return;
    switch (msg.type) {
      case 'auth_ok':
        return this.onAuthOk(msg);
      case 'ack':
        return this.onAck(msg);
      case 'error':
        return this.onServerError(msg);
      case 'pong':
        if (typeof msg.ts === 'number') {
          const waiting = this.pings.get(msg.ts);
          if (waiting) {
            this.pings.delete(msg.ts);
            waiting(performance.now() - msg.ts);
          } else this.heartbeat?.pong(msg.ts);
        }
        return;
      case 'session_expiring':
        this.log('session expiring');
        this.startRefresh();
        return;
      case 'refresh_ok':
        return this.onRefreshOk(msg);
      case 'publication':
      case 'unsubscribed':
      case 'presence':
        return this.channels.onFrame(msg);
      case 'auth':
      case 'refresh':
      case 'ping':
        return;
    }
    if (this._state !== 'open') return;
    const event = { type: msg.type, payload: msg.payload } as IncomingMessage<In> &
      IncomingMessage<IncomingMap>;
    if (this.options.onMessage) {
      try {
        this.options.onMessage(event);
      } catch (err) {
        this.listenerFailed(err, 'onMessage');
      }
    }
    this.events.emit('message', event);
    this.appEvents.emit(msg.type, msg.payload);
  }

  private onAuthOk(msg: Record<string, unknown>): void {
    if (this._state !== 'authenticating') return;
    const { sessionId, csrfToken, expiresAt, limits } = msg;
    if (typeof sessionId !== 'string' || typeof csrfToken !== 'string' || csrfToken.length === 0) {
      this.log('malformed auth_ok');
      this.drop('protocol', 1002);
      return;
    }
    this.clearConnectTimer();
    const maxPayload =
      isObject(limits) && typeof limits.maxPayload === 'number' ? limits.maxPayload : undefined;
    this.session = {
      id: sessionId,
      csrf: csrfToken,
      expiresAt: typeof expiresAt === 'number' ? expiresAt : undefined,
      maxPayload,
    };
    this.remember(csrfToken);
    this.openedAt = this.opts.now();
    this.authRetried = false;
    this.lastAuthError = undefined;
    const reconnected = this.everOpened;
    this.everOpened = true;
    const gen = this.gen;
    this.log('authenticated', { sessionId, reconnected });
    this.setState('open');
    if (gen !== this.gen) return;
    this.heartbeat?.start();
    this.scheduleRefresh(undefined);
    this.needsFlush = true;
    this.flush();
    if (gen !== this.gen) return;
    this.events.emit('open', { sessionId, expiresAt: this.session.expiresAt, reconnected });
  }

  private onAck(msg: Record<string, unknown>): void {
    const p = typeof msg.id === 'string' ? this.inflight.get(msg.id) : undefined;
    if (!p) return;
    this.settle(p);
    p.resolve(msg.result);
  }

  private onServerError(msg: Record<string, unknown>): void {
    const code: ServerErrorCode =
      typeof msg.code === 'string' && SERVER_ERROR_CODE_PATTERN.test(msg.code)
        ? (msg.code as ServerErrorCode)
        : 'WSG_INTERNAL';
    const text =
      typeof msg.message === 'string'
        ? msg.message.slice(0, 200)
        : isErrorCode(code)
          ? ErrorCodes[code].message
          : 'Refused';
    const retryAfterMs =
      typeof msg.retryAfterMs === 'number' && msg.retryAfterMs >= 0 ? msg.retryAfterMs : undefined;
    if (typeof msg.id === 'string') {
      const p = this.inflight.get(msg.id);
      if (!p) return;
      if (code === 'WSG_RATE_LIMITED' && this.opts.retryRateLimited) {
        // Refused before any handler ran, so a resend is safe; keep its place in the order.
        p.onWire = false;
        this.needsFlush = true;
        this.pause(retryAfterMs ?? 1000);
        return;
      }
      if (code === 'WSG_CSRF_INVALID' && !p.csrfRetried && p.csrfUsed !== this.session?.csrf) {
        // Sent with the token a refresh just rotated: resend once with the new one.
        p.csrfRetried = true;
        p.onWire = false;
        this.needsFlush = true;
        this.flush();
        return;
      }
      this.settle(p);
      p.reject(new ServerError(code, text, retryAfterMs));
      return;
    }
    const authCode = isErrorCode(code) ? code : undefined;
    if (this._state === 'authenticating') {
      // The close that follows decides what to do; keep the server's words for the error.
      this.lastAuthError = new AuthError(text, authCode);
      return;
    }
    if (this.refreshing) return this.refreshFailed(new AuthError(text, authCode));
    this.emitError(new ServerError(code, text, retryAfterMs));
  }

  // Session refresh

  /** Refreshes at a margin before the session (or the JWT) expires. */
  private scheduleRefresh(previousExpiry: number | undefined): void {
    if (this.refreshTimer !== undefined) clearTimeout(this.refreshTimer);
    this.refreshTimer = undefined;
    const expiry = this.expiry();
    if (expiry === undefined) return;
    // A refresh that did not move the expiry must not schedule the same refresh again.
    if (previousExpiry !== undefined && expiry <= previousExpiry) return;
    const left = expiry - this.opts.now();
    const margin = Math.min(this.opts.refreshMarginMs, left / 2);
    const delay = Math.min(MAX_TIMER_MS, Math.max(MIN_REFRESH_DELAY_MS, left - margin));
    this.refreshTimer = setTimeout(() => {
      this.refreshTimer = undefined;
      this.startRefresh();
    }, delay);
  }

  private expiry(): number | undefined {
    const jwt = this.currentToken === undefined ? undefined : readJwtExpiry(this.currentToken);
    const server = this.session?.expiresAt;
    if (jwt === undefined) return server;
    return server === undefined ? jwt : Math.min(jwt, server);
  }

  private startRefresh(): void {
    if (this._state !== 'open' || this.refreshing) return;
    const gen = this.gen;
    this.refreshing = true;
    if (this.refreshTimer !== undefined) clearTimeout(this.refreshTimer);
    this.refreshTimer = undefined;
    this.refreshTimeout = setTimeout(() => {
      if (gen === this.gen) this.refreshFailed(new AuthError('no refresh_ok in time'));
    }, this.opts.connectTimeoutMs);
    this.log('refreshing the session');
    this.spawn(
      (async () => {
        let token: string;
        try {
          token = await this.tokens.get();
        } catch (err) {
          if (gen === this.gen) this.refreshFailed(toError(err));
          return;
        }
        if (gen !== this.gen || !this.refreshing) return;
        this.remember(token);
        this.refreshToken = token;
        this.transport?.send(JSON.stringify({ type: 'refresh', token }));
      })(),
    );
  }

  private onRefreshOk(msg: Record<string, unknown>): void {
    if (!this.refreshing || !this.session) return;
    const { csrfToken, expiresAt } = msg;
    if (typeof csrfToken !== 'string' || csrfToken.length === 0) {
      return this.refreshFailed(new AuthError('malformed refresh_ok'));
    }
    const previous = this.expiry();
    this.clearRefresh();
    this.remember(csrfToken);
    this.session.csrf = csrfToken;
    if (typeof expiresAt === 'number') this.session.expiresAt = expiresAt;
    if (this.refreshToken !== undefined) this.currentToken = this.refreshToken;
    this.refreshToken = undefined;
    this.log('session refreshed', { expiresAt: this.session.expiresAt });
    this.scheduleRefresh(previous);
    this.flush();
  }

  /** The live refresh failed: reconnect at once with a fresh token (4401's one retry). */
  private refreshFailed(error: Error): void {
    if (!this.refreshing) return;
    this.log('refresh failed', { error });
    this.emitError(
      error instanceof AuthError
        ? error
        : new AuthError('session refresh failed', undefined, { cause: error }),
    );
    if (this._state === 'closed' || !this.refreshing) return;
    this.drop('refresh-failed', 4401);
  }

  private clearRefresh(): void {
    this.refreshing = false;
    this.refreshToken = undefined;
    for (const t of [this.refreshTimer, this.refreshTimeout]) if (t !== undefined) clearTimeout(t);
    this.refreshTimer = this.refreshTimeout = undefined;
  }

  // Plumbing

  private clearConnectTimer(): void {
    if (this.connectTimer !== undefined) clearTimeout(this.connectTimer);
    this.connectTimer = undefined;
  }

  private setState(to: ClientState): void {
    const from = this._state;
    if (from === to) return;
    this._state = to;
    this.log('state', { from, to });
    this.events.emit('stateChange', { from, to });
  }

  private remember(secret: string): void {
    if (this.secrets.includes(secret)) return;
    this.secrets.push(secret);
    if (this.secrets.length > MAX_SECRETS) this.secrets.shift();
  }

  private emitError(error: Error): void {
    this.log('error', { error });
    this.events.emit('error', error);
  }

  private listenerFailed(err: unknown, where: string): void {
    if (where === 'error') {
      this.log('an error listener threw', { error: err });
      return;
    }
    const error = new SecureWebSocketError(`a ${where} listener threw`, false, { cause: err });
    this.emitError(error);
  }

  /** Runs an internal async task; nothing it does may become an unhandled rejection. */
  private spawn(task: Promise<void>): void {
    task.catch((err: unknown) => this.emitError(toError(err)));
  }
}
