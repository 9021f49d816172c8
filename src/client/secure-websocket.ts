import type { AnyChannels, ChannelMap } from '../protocol/define.js';
import { blockedReason } from './blocked.js';
import { BOUNDS, inboundBound } from './bounds.js';
import { isOffline, watchClient } from './browser.js';
import { type ChannelApi, type ChannelManager, createChannelManager } from './channels.js';
import {
  type CloseCause,
  type CloseInfo,
  closeInfoOf,
  createCloseLedger,
  stopsClient,
} from './close-policy.js';
import { dial } from './dial.js';
import type { ServerErrorCode as ErrorCode } from './errors.js';
import { AuthError, ClosedError, type ConnectionError, InboundTooLargeError, ServerError } from './errors.js';
import {
  type ClientEventMap,
  type ClientEvents,
  type ClientState,
  createClientEvents,
  type OutgoingMessage,
  type ResultOf,
} from './events.js';
import { parseServerFrame, type ServerFrame } from './frames.js';
import { createClientLog, type DebugLog, type SecretList } from './logger.js';
import {
  type IncomingMap,
  type OutgoingMap,
  type ResolvedOptions,
  resolveOptions,
  resolveUrl,
  type SecureWebSocketOptions,
} from './options.js';
import { createOutbox, type Outbox, type WaitReason } from './outbox.js';
import { createRedial, type Redial } from './redial.js';
import { createLiveSession, type LiveSession } from './session.js';
import { createTokenSource, type TokenSource } from './token-source.js';
import type { Transport, TransportClose } from './transport.js';
import { type Timer, toError } from './util.js';

/**
 * A WebSocket that stays connected and authenticated: token auth, CSRF on every application
 * message, acks, a bounded queue while disconnected, backoff reconnects with a close-code
 * policy, session refresh and health pings. A class because it is one long-lived state machine;
 * this file is that machine: dial (`dial.ts`, when: `redial.ts`), authenticate, route frames
 * (`frames.ts`), apply the next step after a close (decided by `close-policy.ts`). Delivery is
 * `outbox.ts`; the live session with its health pings and refresh is `session.ts`; channel
 * subscriptions are `channels.ts`.
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
  private readonly options: SecureWebSocketOptions<IncomingMap>;
  private readonly url: string;
  private readonly tokens: TokenSource;
  private readonly log: DebugLog;
  private readonly events: ClientEvents;
  private readonly outbox: Outbox;
  private readonly live: LiveSession;
  private readonly secrets: SecretList;
  private readonly unwatch: () => void;
  private readonly channels: ChannelManager;
  readonly subscribe: ChannelApi<Ch>['subscribe'];
  readonly publish: ChannelApi<Ch>['publish'];
  readonly subscriptions: ChannelApi<Ch>['subscriptions'];

  private transport: Transport | undefined;
  /** Bumped whenever a connection attempt is superseded, so stale callbacks do nothing. */
  private gen = 0;
  private readonly ledger = createCloseLedger();
  private everOpened = false;
  private connectTimer: Timer | undefined;
  /** The inbound bound: the last announced `maxPayload`, else the default. */
  private inbound: number = BOUNDS.defaultInboundBytes;
  private readonly redial: Redial;

  constructor(options: SecureWebSocketOptions<In>) {
    this.opts = resolveOptions(options as SecureWebSocketOptions<IncomingMap>);
    this.url = resolveUrl(options.url);
    this.options = options as SecureWebSocketOptions<IncomingMap>;
    const opts = this.opts;
    this.tokens = createTokenSource({
      authToken: options.authToken,
      getToken: options.getToken,
      inProtocol: opts.authTransport === 'protocol',
      log: (message, context) => this.log(message, context),
    });
    ({ log: this.log, secrets: this.secrets } = createClientLog(options));
    this.events = createClientEvents(this.log, this.options.onMessage);
    this.outbox = createOutbox(opts, {
      log: this.log,
      blocked: () => this.blocked(),
      session: () => this.live.current,
      write: (frame) => this.transport?.send(frame),
      onChange: (event) => this.events.lifecycle.emit('queue', event),
    });
    this.channels = createChannelManager(this.outbox, this.log, this.events);
    const api = this.channels as unknown as ChannelApi<Ch>;
    ({ subscribe: this.subscribe, publish: this.publish, subscriptions: this.subscriptions } = api);
    this.live = createLiveSession(opts, {
      log: this.log,
      getToken: () => this.tokens.get(),
      send: (frame) => this.transport?.send(this.outbox.control(frame)),
      remember: (secret) => this.secrets.remember(secret),
      onDead: () => this.drop('pong-timeout', 1006),
      onLatency: (latencyMs) => this.events.lifecycle.emit('latency', { latencyMs }),
      onRefreshed: () => {
        this.ledger.refreshed();
        this.outbox.flush();
      },
      onRefreshFailed: (error) => {
        this.events.error(error);
        // The 4401's one fresh-token retry, after the backoff.
        if (this._state !== 'closed' && this.live.refreshing) this.drop('refresh-failed', 4401);
      },
      onRefreshChange: () => this.outbox.changed(),
    });
    this.redial = createRedial({
      now: opts.now,
      log: this.log,
      live: () => this._state !== 'closed',
      dial: () => this.connect(),
      onOfflineChange: () => this.outbox.changed(),
    });
    this.unwatch = watchClient({
      open: () => this._state === 'open',
      check: () => this.live.check(),
      // Back online, or visible again: retry now instead of waiting out the backoff.
      wake: (why) =>
        (this._state === 'reconnecting' || this._state === 'connecting') && this.redial.wake(why),
    });
    this.log('created', { url: this.url, authTransport: opts.authTransport });
    this.redial.now();
  }

  /** `connecting | authenticating | open | reconnecting | closed`. */
  get state(): ClientState {
    return this._state;
  }

  /** Messages waiting to be sent: queued while not connected, or waiting to be resent. */
  get queueSize(): number {
    return this.outbox.queued;
  }

  /** Messages sent and not yet acked. */
  get pendingAcks(): number {
    return this.outbox.pendingAcks;
  }

  /** Round trip of the last app-level ping, in ms; undefined before the first pong. */
  get latencyMs(): number | undefined {
    return this.live.latencyMs;
  }

  /** The current session's id, while open. */
  get sessionId(): string | undefined {
    return this.live.current?.id;
  }

  /**
   * Sends an application message; resolves with the ack's `result` once the server handled it.
   * While not connected it is queued. A rejection is always a `SecureWebSocketError` whose
   * `maybeHandled` says whether the server could have handled the message anyway.
   */
  send<T extends keyof Out & string>(message: OutgoingMessage<Out, T>): Promise<ResultOf<Out[T]>> {
    return this.outbox.send(message) as Promise<ResultOf<Out[T]>>;
  }

  /** Listens to an application event type; returns the unsubscribe function. */
  on<T extends keyof In & string>(type: T, handler: (payload: In[T]) => void): () => void {
    return this.events.app.on(type, handler as (arg: unknown) => void);
  }

  /** Listens to a lifecycle event (`open`, `close`, `message`, `stateChange`, `latency`, `queue`, `error`); returns the unsubscribe. */
  addEventListener<K extends keyof ClientEventMap>(
    type: K,
    listener: (event: ClientEventMap[K]) => void,
  ): () => void {
    return this.events.lifecycle.on(type, listener);
  }

  removeEventListener<K extends keyof ClientEventMap>(
    type: K,
    listener: (event: ClientEventMap[K]) => void,
  ): void {
    this.events.lifecycle.off(type, listener);
  }

  /**
   * Sends an app-level ping now and resolves with the round trip in ms. Rejects with
   * ClosedError when not open, or AckTimeoutError without a pong within `timeoutMs`.
   */
  ping(timeoutMs = 5000): Promise<number> {
    if (this.state !== 'open' || !this.transport) return Promise.reject(new ClosedError('not open', false));
    return this.live.ping(timeoutMs);
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
    this.finish({ code, reason, cause: 'client', attempt: this.ledger.attempts });
  }

  /** Why application messages cannot go out now; undefined when they can. */
  private blocked(): Exclude<WaitReason, 'paused'> | undefined {
    const offline = () => this.redial.offline || isOffline();
    const c = { connected: !!this.transport, refreshing: this.live.refreshing, everOpened: this.everOpened };
    return blockedReason(this._state, { ...c, offline });
  }

  // Connecting

  private connect(): void {
    const gen = ++this.gen;
    this.connectTimer = setTimeout(() => {
      if (gen !== this.gen) return;
      this.log('connect timeout');
      this.drop('connect-timeout', 1006);
    }, this.opts.connectTimeoutMs);
    const { url, log, tokens } = this;
    const { authTransport } = this.opts;
    dial(
      { url, authTransport, WebSocket: this.options.WebSocket, tokens, log, maxInboundBytes: this.inbound },
      {
        current: () => gen === this.gen && this._state !== 'closed',
        token: (token) => this.secrets.remember(token),
        attached: (transport) => {
          this.transport = transport;
          this.log('dialing', { attempt: this.ledger.attempts });
        },
        opened: () => this.setState('authenticating'),
        message: (text, token) => this.onFrame(text, token),
        closed: (info) => this.onTransportClose(info),
        noToken: (error) => {
          this.events.error(error);
          this.lost({ code: 1006, reason: '', cause: 'token', attempt: this.ledger.attempts });
        },
        fatal: (error) => this.fatal(error),
      },
    ).catch((err: unknown) => this.events.error(toError(err)));
  }

  private onTransportClose(t: TransportClose): void {
    this.transport = undefined;
    if (t.tooLarge) this.events.error(new InboundTooLargeError(this.inbound));
    const info = closeInfoOf(t, this.ledger.attempts, this.live.refreshing);
    this.log('socket closed', { code: info.code, reason: info.reason, httpStatus: info.httpStatus });
    this.lost(info);
  }

  /** The client gives up on the current connection itself. */
  private drop(cause: CloseCause, code: number): void {
    const t = this.transport;
    this.transport = undefined;
    if (cause === 'too-large') t?.close(1009, '');
    else if (cause === 'refresh-failed' || cause === 'protocol') t?.close(1000, '');
    else t?.abandon();
    this.lost({ code, reason: '', cause, attempt: this.ledger.attempts });
  }

  /** A connection (or an attempt) ended: apply the close policy's next step. */
  private lost(closed: CloseInfo): void {
    if (this._state === 'closed') return;
    const now = this.opts.now();
    const { openedAt } = this.live;
    const uptimeMs = this._state === 'open' && openedAt !== undefined ? now - openedAt : undefined;
    this.endConnection();
    const step = this.ledger.next(closed, uptimeMs, {
      ...this.opts,
      shouldReconnect: this.options.shouldReconnect,
    });
    const { info, delayMs } = step;
    if (step.action === 'stop') return this.finish(info, step.error);
    this.setState('reconnecting');
    this.log('reconnecting', { code: info.code, cause: info.cause, attempt: this.ledger.attempts, delayMs });
    this.redial.after(delayMs, now + step.retryAfterMs);
    this.events.lifecycle.emit('close', { ...info, willReconnect: true, delayMs });
  }

  /** Forgets the current connection: its timers, its session; unacked messages wait for a resend. */
  private endConnection(): void {
    this.gen++;
    clearTimeout(this.connectTimer);
    this.live.stop();
    this.outbox.disconnected();
  }

  private fatal(error: ConnectionError): void {
    const t = this.transport;
    this.transport = undefined;
    t?.abandon();
    this.finish({ code: 1006, reason: '', cause: 'network', attempt: this.ledger.attempts }, error);
  }

  /** The end: reject everything still pending and report. */
  private finish(info: CloseInfo, error?: Error): void {
    if (this._state === 'closed') return;
    this.endConnection();
    this.redial.stop();
    this.unwatch();
    this.setState('closed');
    this.outbox.close(info.code, error, info.errorCode);
    if (error) this.events.error(error);
    this.log('closed', { code: info.code, cause: info.cause });
    this.events.lifecycle.emit('close', { ...info, willReconnect: false, ...(error ? { error } : {}) });
  }

  // Receiving

  private onFrame(text: string, token: string): void {
    // Browsers deliver a message whole; past the bound it is refused unread (1 char >= 1 byte).
    if (text.length > this.inbound) {
      this.events.error(new InboundTooLargeError(this.inbound));
      return this.drop('too-large', 1009);
    }
    const frame = parseServerFrame(text);
    if (frame === undefined) return;
    switch (frame.kind) {
      case 'invalid':
        return this.log('ignored a frame that is not JSON or has a polluting key');
      case 'auth_ok':
      case 'bad_auth_ok':
        return this.onAuthOk(frame, token);
      case 'ack':
        return this.outbox.ack(frame.id, frame.result);
      case 'error':
        return this.onServerError(frame.id, frame.code, frame.message, frame.retryAfterMs);
      case 'pong':
        return this.live.pong(frame.ts);
      case 'session_expiring':
        this.log('session expiring');
        return this.live.refresh();
      case 'refresh_ok':
        this.outbox.announce(frame.limits);
        return this.live.refreshOk(frame);
      case 'channel':
        return this.channels.onFrame(frame.msg);
    }
    if (this._state === 'open') this.events.deliver(frame.type, frame.payload);
  }

  private onAuthOk(frame: Extract<ServerFrame, { kind: 'auth_ok' | 'bad_auth_ok' }>, token: string): void {
    if (this._state !== 'authenticating') return;
    if (frame.kind === 'bad_auth_ok') {
      this.log('malformed auth_ok');
      return this.drop('protocol', 1002);
    }
    const { sessionId, csrfToken, expiresAt, maxPayload } = frame;
    clearTimeout(this.connectTimer);
    this.live.start({ id: sessionId, csrf: csrfToken, maxPayload });
    this.inbound = inboundBound(maxPayload);
    this.ledger.authenticated();
    const reconnected = this.everOpened;
    this.everOpened = true;
    const gen = this.gen;
    this.log('authenticated', { sessionId, reconnected });
    this.setState('open');
    if (gen !== this.gen) return;
    this.live.keepAlive(token, expiresAt);
    if (reconnected) this.channels.reconnected();
    this.outbox.resume(frame.limits);
    if (gen !== this.gen) return;
    this.events.lifecycle.emit('open', { sessionId, expiresAt, reconnected });
  }

  private onServerError(id: string | undefined, code: ErrorCode, text: string, retryAfterMs?: number): void {
    if (id !== undefined) return this.outbox.refused(id, code, text, retryAfterMs);
    // While authenticating, the close that follows decides what to do; keep the server's words.
    if (this._state === 'authenticating') return this.ledger.authRefused(new AuthError(text, code));
    if (this.live.refreshing) return this.live.refreshFailed(new AuthError(text, code));
    // A code whose close ends the client for good: that close reports it, once.
    if (!stopsClient(code)) this.events.error(new ServerError(code, text, retryAfterMs));
  }

  // Plumbing

  private setState(to: ClientState): void {
    const from = this._state;
    if (from === to) return;
    this._state = to;
    this.log('state', { from, to });
    this.events.lifecycle.emit('stateChange', { from, to });
    // The final report comes from the outbox once it has rejected what it held.
    if (to !== 'closed') this.outbox.changed();
  }
}
