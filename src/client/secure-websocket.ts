import { BEARER_SUBPROTOCOL_PREFIX, type ErrorCode, SUBPROTOCOL } from '../protocol/index.js';
import { isOffline, watchBrowser } from './browser.js';
import { type CloseCause, type CloseInfo, nextStep, withReason } from './close-policy.js';
import { createEmitter, type Emitter } from './emitter.js';
import { AuthError, ClosedError, ConnectionError, SecureWebSocketError, ServerError } from './errors.js';
import type { ClientEventMap, ClientState, OutgoingMessage, ResultOf } from './events.js';
import { parseServerFrame, type ServerFrame } from './frames.js';
import { createHeartbeat, createPings, type Heartbeat } from './heartbeat.js';
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
import { createOutbox, type Outbox, type SessionLink, type WaitReason } from './outbox.js';
import { createRedial, type Redial } from './redial.js';
import { createSessionRefresh, type SessionRefresh } from './refresh.js';
import { createTokenSource, type TokenSource } from './token-source.js';
import { openTransport, resolveWebSocket, type Transport, type TransportClose } from './transport.js';
import { type Timer, toError } from './util.js';

interface Session extends SessionLink {
  id: string;
}

/** The most secrets (tokens, CSRF tokens) the debug log redacts: the recent ones are the live ones. */
const MAX_SECRETS = 16;

/**
 * A WebSocket that stays connected and authenticated: token auth, CSRF on every application
 * message, acks, a bounded queue while disconnected, backoff reconnects with a close-code
 * policy, session refresh and health pings. A class because it is one long-lived state machine;
 * this file is that machine (dial, authenticate, route frames, decide after a close). Delivery
 * is `outbox.ts`, refresh `refresh.ts`, the decision after a close `close-policy.ts`, health
 * `heartbeat.ts`.
 *
 * `Out` maps outgoing types to `{ payload, result }`; `In` maps incoming event types to payloads.
 */
export class SecureWebSocket<Out extends OutgoingMap = OutgoingMap, In extends IncomingMap = IncomingMap> {
  private _state: ClientState = 'connecting';
  private readonly opts: ResolvedOptions;
  private readonly options: SecureWebSocketOptions<IncomingMap>;
  private readonly url: string;
  private readonly tokens: TokenSource;
  private readonly log: DebugLog;
  private readonly events: Emitter<ClientEventMap>;
  private readonly appEvents: Emitter<Record<string, unknown>>;
  private readonly outbox: Outbox;
  private readonly refresher: SessionRefresh;
  private readonly heartbeat: Heartbeat | undefined;
  private readonly pings = createPings();
  private readonly secrets: string[] = [];
  private readonly unwatch: () => void;

  private transport: Transport | undefined;
  /** Bumped whenever a connection attempt is superseded, so stale callbacks do nothing. */
  private gen = 0;
  private attempts = 0;
  private authRetried = false;
  private lastAuthError: AuthError | undefined;
  private session: Session | undefined;
  private openedAt: number | undefined;
  private everOpened = false;
  private latency: number | undefined;
  private connectTimer: Timer | undefined;
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
    });
    if (options.authToken !== undefined) this.remember(options.authToken);
    this.log = createDebugLog({
      enabled: options.debug === true,
      logger: options.logger,
      secrets: () => this.secrets,
    });
    const failed = (err: unknown, type: PropertyKey) => this.listenerFailed(err, String(type));
    this.events = createEmitter<ClientEventMap>(failed);
    this.appEvents = createEmitter<Record<string, unknown>>(failed);
    this.outbox = createOutbox({
      queue: opts.queue,
      ackTimeoutMs: opts.ackTimeoutMs,
      retryRateLimited: opts.retryRateLimited,
      now: opts.now,
      log: this.log,
      blocked: () => this.blocked(),
      session: () => this.session,
      write: (frame) => this.transport?.send(frame),
      onChange: (event) => this.events.emit('queue', event),
    });
    this.refresher = createSessionRefresh({
      marginMs: opts.refreshMarginMs,
      timeoutMs: opts.connectTimeoutMs,
      now: opts.now,
      log: this.log,
      getToken: () => this.tokens.get(),
      sendRefresh: (token) => {
        this.remember(token);
        this.transport?.send(JSON.stringify({ type: 'refresh', token }));
      },
      onRefreshed: (csrf) => {
        this.remember(csrf);
        if (this.session) this.session.csrf = csrf;
        this.outbox.flush();
      },
      onFailed: (error) => {
        this.emitError(error);
        // The 4401's one fresh-token retry: reconnect at once.
        if (this._state !== 'closed' && this.refresher.active) this.drop('refresh-failed', 4401);
      },
      onActiveChange: () => this.outbox.changed(),
    });
    const hb = opts.heartbeat;
    this.heartbeat = hb
      ? createHeartbeat({
          intervalMs: hb.intervalMs,
          timeoutMs: hb.timeoutMs,
          now: opts.now,
          sendPing: (ts) => this.transport?.send(`{"type":"ping","ts":${ts}}`),
          onDead: () => {
            this.log('no pong by the deadline: connection is dead');
            this.drop('pong-timeout', 1006);
          },
          onLatency: (ms) => this.measured(ms),
        })
      : undefined;
    this.redial = createRedial({
      now: opts.now,
      log: this.log,
      live: () => this._state !== 'closed',
      dial: () => this.dial(),
      onOfflineChange: () => this.outbox.changed(),
    });
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
    return this.outbox.send(message) as Promise<ResultOf<Out[T]>>;
  }

  /** Listens to an application event type; returns the unsubscribe function. */
  on<T extends keyof In & string>(type: T, handler: (payload: In[T]) => void): () => void {
    return this.appEvents.on(type, handler as (arg: unknown) => void);
  }

  /** Listens to a lifecycle event (`open`, `close`, `message`, `stateChange`, `latency`, `queue`, `error`); returns the unsubscribe. */
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
    const t = this.transport;
    if (this.state !== 'open' || !t) return Promise.reject(new ClosedError('not open', false));
    return this.pings.ping((ts) => t.send(JSON.stringify({ type: 'ping', ts })), timeoutMs);
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

  /** Why application messages cannot go out now; undefined when they can. */
  private blocked(): Exclude<WaitReason, 'paused'> | undefined {
    switch (this._state) {
      case 'closed':
        return 'closed';
      case 'open':
        if (!this.transport) return 'reconnecting';
        return this.refresher.active ? 'refreshing' : undefined;
      default:
        if (this.redial.offline || isOffline()) return 'offline';
        return this.everOpened ? 'reconnecting' : 'connecting';
    }
  }

  private measured(ms: number): void {
    this.latency = ms;
    this.events.emit('latency', { latencyMs: ms });
  }

  // Connecting

  /** Back online, or the page is visible again: retry now instead of waiting out the backoff. */
  private wake(why: string): void {
    if (this._state === 'reconnecting' || this._state === 'connecting') this.redial.wake(why);
  }

  private dial(): void {
    const gen = ++this.gen;
    this.connectTimer = setTimeout(() => {
      if (gen !== this.gen) return;
      this.log('connect timeout');
      this.drop('connect-timeout', 1006);
    }, this.opts.connectTimeoutMs);
    this.openSocket(gen).catch((err: unknown) => this.emitError(toError(err)));
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
          if (gen === this.gen) this.onFrame(text, token);
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
    if (this.refresher.active && t.code === 4401) info.cause = 'refresh-failed';
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

  /** A connection (or an attempt) ended: apply the close policy's next step. */
  private lost(closed: CloseInfo): void {
    if (this._state === 'closed') return;
    const now = this.opts.now();
    const uptimeMs = this._state === 'open' && this.openedAt !== undefined ? now - this.openedAt : undefined;
    this.endConnection();
    const o = this.opts;
    const step = nextStep(
      closed,
      { attempts: this.attempts, authRetried: this.authRetried, uptimeMs, authError: this.lastAuthError },
      {
        reconnect: o.reconnect,
        backoff: o.backoff,
        shouldReconnect: this.options.shouldReconnect,
        random: o.random,
      },
    );
    const { info, delayMs } = step;
    this.attempts = step.attempts;
    this.authRetried = step.authRetried;
    if (step.action === 'stop') return this.finish(info, step.error);
    this.setState('reconnecting');
    this.log('reconnecting', { code: info.code, cause: info.cause, attempt: this.attempts, delayMs });
    this.redial.after(delayMs, now + step.retryAfterMs);
    this.events.emit('close', { ...info, willReconnect: true, delayMs });
  }

  /** Forgets the current connection: its timers, its session; unacked messages wait for a resend. */
  private endConnection(): void {
    this.gen++;
    this.clearConnectTimer();
    this.heartbeat?.stop();
    this.refresher.stop();
    this.session = undefined;
    this.openedAt = undefined;
    this.outbox.disconnected();
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
    this.redial.stop();
    this.unwatch();
    this.setState('closed');
    this.outbox.close(info.code, error);
    if (error) this.emitError(error);
    this.log('closed', { code: info.code, cause: info.cause });
    this.events.emit(
      'close',
      error ? { ...info, willReconnect: false, error } : { ...info, willReconnect: false },
    );
  }

  // Receiving

  private onFrame(text: string, token: string): void {
    const frame = parseServerFrame(text);
    if (frame === undefined) return;
    switch (frame.kind) {
      case 'invalid':
        return this.log('ignored a frame that is not JSON');
      case 'auth_ok':
      case 'bad_auth_ok':
        return this.onAuthOk(frame, token);
      case 'ack':
        return this.outbox.ack(frame.id, frame.result);
      case 'error':
        return this.onServerError(frame.id, frame.code, frame.message, frame.retryAfterMs);
      case 'pong': {
        const ms = this.pings.pong(frame.ts);
        if (ms === undefined) this.heartbeat?.pong(frame.ts);
        else this.measured(ms);
        return;
      }
      case 'session_expiring':
        this.log('session expiring');
        return this.refresher.refresh();
      case 'refresh_ok':
        if (this.session) this.refresher.ok(frame);
        return;
    }
    if (this._state !== 'open') return;
    const event = { type: frame.type, payload: frame.payload } as IncomingMessage<In> &
      IncomingMessage<IncomingMap>;
    if (this.options.onMessage) {
      try {
        this.options.onMessage(event);
      } catch (err) {
        this.listenerFailed(err, 'onMessage');
      }
    }
    this.events.emit('message', event);
    this.appEvents.emit(frame.type, frame.payload);
  }

  private onAuthOk(frame: Extract<ServerFrame, { kind: 'auth_ok' | 'bad_auth_ok' }>, token: string): void {
    if (this._state !== 'authenticating') return;
    if (frame.kind === 'bad_auth_ok') {
      this.log('malformed auth_ok');
      return this.drop('protocol', 1002);
    }
    const { sessionId, csrfToken, expiresAt, maxPayload } = frame;
    this.clearConnectTimer();
    this.session = { id: sessionId, csrf: csrfToken, maxPayload };
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
    this.refresher.start(token, expiresAt);
    this.outbox.resume();
    if (gen !== this.gen) return;
    this.events.emit('open', { sessionId, expiresAt, reconnected });
  }

  private onServerError(id: string | undefined, code: ErrorCode, text: string, retryAfterMs?: number): void {
    if (id !== undefined) return this.outbox.refused(id, code, text, retryAfterMs);
    if (this._state === 'authenticating') {
      // The close that follows decides what to do; keep the server's words for the error.
      this.lastAuthError = new AuthError(text, code);
      return;
    }
    if (this.refresher.active) return this.refresher.fail(new AuthError(text, code));
    this.emitError(new ServerError(code, text, retryAfterMs));
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
    // The final report comes from the outbox once it has rejected what it held.
    if (to !== 'closed') this.outbox.changed();
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
}
