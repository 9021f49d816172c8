import { type ErrorCode, ErrorCodes, formatCloseReason } from '../protocol/index.js';
import type { Channels } from './channels/index.js';
import { answerBare, type BareErrors } from './connection/bare-errors.js';
import { createHandlerContext } from './connection/context.js';
import { ConnectionFlags } from './connection/flags.js';
import type { Principal } from './connection/state.js';
import { DEFAULTS } from './defaults.js';
import { WsgError } from './errors.js';
import type { EventBus, SecurityEvent, SocketEvent } from './events.js';
import type { HandlerContext } from './options.js';
import { type Envelope, PING_REFUSAL } from './pipeline/envelope.js';
import { errorFrame, pongFrame } from './pipeline/frames.js';
import { idOf, peekId } from './pipeline/peek-id.js';
import type { ConnectionInfo, MessageContext, Stage } from './pipeline/types.js';
import type { GuardSocket, UpgradeRequest } from './socket.js';

type ControlEnvelope = Extract<Envelope, { kind: 'ping' | 'refresh' }>;
/** `{"type":"ping"}`, the bytes a ping without its `ts` arrives as. */
const BARE_PING = Buffer.from('{"type":"ping"}');

export type ConnectionState = 'authenticating' | 'verifying' | 'open' | 'closing' | 'closed';

type PendingAuth = { timer: NodeJS.Timeout; req: UpgradeRequest | undefined };

/** What a connection needs from the server that owns it (shared by all its sockets). */
export interface ConnectionHost {
  readonly events: EventBus;
  readonly authTimeoutMs: number;
  readonly binaryType: string | undefined;
  parse(text: string): unknown;
  readEnvelope(value: unknown): Envelope | WsgError;
  /** Bytes past which a socket's send queue is not added to. */
  readonly hardLimitBytes: number;
  /** Counts an incoming frame (stats). */
  received(data: Buffer | string): void;
  /** Counts an outgoing frame (stats). */
  counted(frame: string): void;
  /** Checks on the raw frame, before any JSON work (rate limits go here). */
  readonly frameStages: readonly Stage[];
  /** Checks on an application message after its envelope is read, in order. */
  readonly appStages: readonly Stage[];
  /** The limit stages a control message (ping, refresh) passes: per user, per type. */
  readonly controlStages: readonly Stage[];
  readonly preAuthMaxPayload: number;
  verify(token: string, req: UpgradeRequest): Promise<Principal | null>;
  /** Creates the session for a verified principal; resolves with the auth_ok frame. */
  openSession(
    conn: Connection,
    principal: Principal,
  ): Promise<{ sessionId: string; csrfToken: string; frame: string } | WsgError>;
  dispatch(conn: Connection, m: MessageContext): Promise<string | undefined> | string | undefined;
  onRefresh(conn: Connection, token: string): Promise<void>;
  onAuthenticated(conn: Connection): void;
  /** The socket closed while its session was being opened: give back what was taken. */
  abandon(conn: Connection): void;
  onRejected(conn: Connection, error: WsgError, m: MessageContext | undefined): void;
  onClosed(conn: Connection, code: number): void;
  /** A handler of this connection finished and its reply went out (shutdown waits for these). */
  onSettled(conn: Connection): void;
  /** True once graceful shutdown started: new messages are not handled (clients resend them). */
  readonly closing: boolean;
  broadcast(type: string, payload: unknown): void;
  readonly channels: Pick<Channels, 'subscribeAs' | 'unsubscribeAs' | 'publish' | 'allowed'>;
}

/** A frame's context before it is parsed; one shape for every frame. */
const frameContext = (conn: Connection, bytes: number, isBinary: boolean): MessageContext => ({
  conn,
  bytes,
  isBinary,
  type: '',
  id: undefined,
  payload: undefined,
  csrf: undefined,
});

/**
 * One socket's life: auth phase, then messages through the pipeline. A class because it holds
 * state and a lifecycle; its methods live on the prototype, so an idle socket costs one object.
 */
export class Connection extends ConnectionFlags implements ConnectionInfo {
  state: ConnectionState = 'authenticating';
  user: Principal | undefined;
  sessionId: string | undefined;
  csrfToken: string | undefined;
  /** Handlers running now; shutdown waits for them. */
  inflight = 0;
  rate: ConnectionInfo['rate'];
  anomaly: ConnectionInfo['anomaly'];
  strikes: ConnectionInfo['strikes'];
  /** Session expiry, ms (Infinity until authenticated). */
  expiresAt = Number.POSITIVE_INFINITY;
  /** Last application message, ms: the idle timeout counts from here. */
  lastActiveAt = 0;
  /** Since when the send queue has been over the backpressure limit, ms. */
  overSince: number | undefined;
  /** Id-less `error` replies left in the current second (connection/bare-errors.ts). */
  bareErrors: BareErrors | undefined;
  /** The auth timer and the upgrade request: kept only until auth completes. */
  private pending: PendingAuth | undefined;
  private ctx: HandlerContext | undefined;

  constructor(
    readonly socket: GuardSocket,
    readonly host: ConnectionHost,
    readonly connectionId: string,
    readonly ip: string,
  ) {
    super();
  }

  /** Starts the auth phase, or authenticates at once with a principal from the upgrade. */
  start(principal: Principal | undefined, req: UpgradeRequest): void {
    // Armed on both paths: with a token from the upgrade, opening the session (store calls)
    // must not hold the socket open forever either.
    const timer = setTimeout(() => {
      if (this.state !== 'authenticating' && this.state !== 'verifying') return;
      this.fail('WSG_AUTH_TIMEOUT');
      // A silent peer would hold its per-IP slot until ws gives up on the close (30 s).
      this.host.abandon(this);
      setTimeout(() => this.socket.terminate(), DEFAULTS.internal.overloadTerminateMs).unref?.();
    }, this.host.authTimeoutMs);
    timer.unref?.();
    if (principal) {
      this.pending = { timer, req: undefined };
      this.state = 'verifying';
      void this.authenticate(principal);
      return;
    }
    this.pending = { timer, req };
  }

  get context(): HandlerContext {
    this.ctx ??= createHandlerContext(this);
    return this.ctx;
  }

  sendFrame(frame: string): void {
    if (!this.socket.isOpen) return;
    if (this.socket.bufferedAmount > this.host.hardLimitBytes) {
      // A reader this slow gets nothing more queued: close now instead of growing memory.
      this.overloaded();
      return;
    }
    this.socket.send(frame);
    this.host.counted(frame);
  }

  /** Closes a slow reader with 1013; terminates it if the close cannot get through. */
  overloaded(): void {
    if (this.state === 'closing' || this.state === 'closed') return;
    this.event({ event: 'connection.closed', level: 'warn', code: 'WSG_OVERLOADED', detail: 'slow reader' });
    this.closeSocket(1013, 'WSG_OVERLOADED');
    setTimeout(() => this.socket.terminate(), DEFAULTS.internal.overloadTerminateMs).unref?.();
  }

  handlePong(): void {
    this.alive = true;
  }

  /**
   * A transport ping from the peer, which the transport answers by itself. A pong is work and
   * bytes, so a ping counts against the frame limits like a message: without this, a ping flood
   * went past every rate limit. (Before auth, the auth timeout bounds it.)
   */
  handlePing(data: Buffer): void {
    if (this.state !== 'open' || this.host.closing) return;
    const m = frameContext(this, data.length, true);
    for (const stage of this.host.frameStages) {
      const r = stage(m);
      if (r === undefined) continue;
      if (r instanceof WsgError) return this.reject(r, m);
      return void r.then(
        (err) => err && this.reject(err, m),
        () => this.reject(new WsgError('WSG_INTERNAL'), m),
      );
    }
  }

  /** Emits `e` (a fresh literal at every call site) with this socket's ids added to it. */
  event(e: SocketEvent): void {
    // Filled in place: copying it with a spread was the largest cost of a refused message.
    const full = e as SecurityEvent;
    full.ip = this.ip;
    full.connectionId = this.connectionId;
    if (this.user) full.userId = this.user.id;
    if (this.sessionId) full.sessionId = this.sessionId;
    this.host.events.emit(full);
  }

  /** Sends `error` with the code, then closes with its close code and a short reason. */
  fail(code: ErrorCode, retryAfterMs?: number): void {
    if (this.state === 'closing' || this.state === 'closed') return;
    this.sendFrame(errorFrame(code, undefined, retryAfterMs));
    this.closeSocket(ErrorCodes[code].closeCode, formatCloseReason(code, retryAfterMs));
  }

  closeSocket(code: number, reason: string): void {
    if (this.state === 'closing' || this.state === 'closed') return;
    this.state = 'closing';
    this.clearAuthTimer();
    this.socket.close(code, reason);
  }

  handleMessage(data: Buffer | string, isBinary: boolean): void {
    this.host.received(data);
    // During shutdown a message is neither handled nor acked: the client resends it, with the
    // same id, to the server it reconnects to.
    if (this.host.closing) return;
    if (this.state !== 'open') {
      this.handlePreAuth(data, isBinary);
      return;
    }
    const m = frameContext(this, typeof data === 'string' ? Buffer.byteLength(data) : data.length, isBinary);
    const { frameStages } = this.host;
    for (let i = 0; i < frameStages.length; i++) {
      const r = (frameStages[i] as Stage)(m);
      if (r !== undefined) {
        if (r instanceof WsgError) return this.rejectFrame(r, m, data);
        return void r.then(
          (err) => (err ? this.rejectFrame(err, m, data) : this.afterFrame(m, data)),
          (err: unknown) => this.reject(err instanceof WsgError ? err : new WsgError('WSG_INTERNAL'), m),
        );
      }
    }
    this.afterFrame(m, data);
  }

  private afterFrame(m: MessageContext, data: Buffer | string): void {
    if (this.state !== 'open') return;
    if (m.isBinary) {
      if (this.host.binaryType === undefined) return this.reject(new WsgError('WSG_BINARY_NOT_ALLOWED'), m);
      m.type = this.host.binaryType;
      m.payload = data;
      return this.runApp(m, 0);
    }
    // A ping without `ts`, refused by the envelope: those exact bytes need no parse to say so.
    if (
      m.bytes === BARE_PING.length &&
      BARE_PING.equals(typeof data === 'string' ? Buffer.from(data) : data)
    ) {
      return this.reject(PING_REFUSAL, m);
    }
    const value = this.host.parse(typeof data === 'string' ? data : data.toString());
    if (value instanceof WsgError) return this.reject(value, Object.assign(m, { id: peekId(data) }));
    const env = this.host.readEnvelope(value);
    // A refused envelope still names a well-formed id: the client settles that send.
    if (env instanceof WsgError) return this.reject(env, Object.assign(m, { id: idOf(value) }));
    switch (env.kind) {
      case 'ping':
      case 'refresh':
        m.type = env.kind;
        return this.runControl(m, 0, env);
      case 'auth':
        return this.reject(new WsgError('WSG_INVALID_MESSAGE', { detail: 'already authenticated' }), m);
    }
    this.lastActiveAt = Date.now();
    m.type = env.type;
    m.id = env.id;
    m.payload = env.payload;
    m.csrf = env.csrf;
    this.runApp(m, 0);
  }

  /** A control message (ping, refresh): the limit stages from `from`, then its answer. */
  private runControl(m: MessageContext, from: number, env: ControlEnvelope): void {
    const stages = this.host.controlStages;
    for (let i = from; i < stages.length; i++) {
      const r = (stages[i] as Stage)(m);
      if (r === undefined) continue;
      if (r instanceof WsgError) return this.reject(r, m);
      return void r.then(
        (err) => (err ? this.reject(err, m) : this.runControl(m, i + 1, env)),
        (err: unknown) => this.reject(err instanceof WsgError ? err : new WsgError('WSG_INTERNAL'), m),
      );
    }
    if (this.state !== 'open') return;
    if (env.kind === 'ping') this.sendFrame(pongFrame(env.ts));
    else void this.host.onRefresh(this, env.token);
  }

  /** App stages from `from`, then the handler. */
  private runApp(m: MessageContext, from: number): void {
    const appStages = this.host.appStages;
    for (let i = from; i < appStages.length; i++) {
      const r = (appStages[i] as Stage)(m);
      if (r === undefined) continue;
      if (r instanceof WsgError) return this.reject(r, m);
      return void r.then(
        (err) => (err ? this.reject(err, m) : this.runApp(m, i + 1)),
        (err: unknown) => this.reject(err instanceof WsgError ? err : new WsgError('WSG_INTERNAL'), m),
      );
    }
    const reply = this.host.dispatch(this, m);
    if (typeof reply === 'string') this.sendFrame(reply);
    else if (reply !== undefined) {
      // The reply goes out before the handler counts as finished, so shutdown never closes
      // the socket between a handler's end and its ack.
      this.inflight++;
      void reply
        .then((frame) => {
          if (frame !== undefined) this.sendFrame(frame);
        })
        .finally(() => {
          this.inflight--;
          this.host.onSettled(this);
        });
    }
  }

  /** A refusal before any JSON work: the reply still names the message's id when it is easy to see. */
  private rejectFrame(error: WsgError, m: MessageContext, data: Buffer | string): void {
    if (!m.isBinary) m.id = peekId(data);
    this.reject(error, m);
  }

  /** Replies `error` (keeping the socket open) or closes, as the code's registry entry says. */
  reject(error: WsgError, m: MessageContext | undefined): void {
    this.host.onRejected(this, error, m);
    if (this.state !== 'open' && this.state !== 'authenticating' && this.state !== 'verifying') return;
    if (ErrorCodes[error.code].closes) return this.fail(error.code, error.retryAfterMs);
    const id = m?.id;
    if (id !== undefined || error.retryAfterMs !== undefined || answerBare(this, Date.now()))
      this.sendFrame(errorFrame(error.code, id, error.retryAfterMs));
  }

  private handlePreAuth(data: Buffer | string, isBinary: boolean): void {
    if (this.state !== 'authenticating') {
      // A second message before auth_ok: the client did not wait.
      if (this.state === 'verifying') this.failAuth('WSG_AUTH_REQUIRED', 'message before auth_ok');
      return;
    }
    if (isBinary) return this.failAuth('WSG_AUTH_REQUIRED', 'binary before auth');
    if ((typeof data === 'string' ? Buffer.byteLength(data) : data.length) > this.host.preAuthMaxPayload) {
      return this.reject(new WsgError('WSG_MESSAGE_TOO_LARGE', { detail: 'before auth' }), undefined);
    }
    const value = this.host.parse(typeof data === 'string' ? data : data.toString());
    const env = value instanceof WsgError ? value : this.host.readEnvelope(value);
    if (env instanceof WsgError || env.kind !== 'auth') {
      return this.failAuth('WSG_AUTH_REQUIRED', 'message before auth');
    }
    this.state = 'verifying';
    void this.host.verify(env.token, this.pending?.req as UpgradeRequest).then(
      (principal) =>
        principal ? this.authenticate(principal) : this.failAuth('WSG_AUTH_FAILED', 'token refused'),
      () => this.failAuth('WSG_AUTH_FAILED', 'verifier error'),
    );
  }

  private failAuth(code: ErrorCode, detail: string): void {
    this.event({ event: 'auth.failure', level: 'warn', code, detail });
    this.host.onRejected(this, new WsgError(code, { detail }), undefined);
    this.fail(code);
  }

  private async authenticate(principal: Principal): Promise<void> {
    if (this.state !== 'verifying') return;
    this.user = principal;
    const opened = await this.host.openSession(this, principal);
    if ((this.state as ConnectionState) !== 'verifying') {
      if (!(opened instanceof WsgError)) this.host.abandon(this);
      return;
    }
    if (opened instanceof WsgError) {
      this.user = undefined;
      return this.fail(opened.code, opened.retryAfterMs);
    }
    this.clearAuthTimer();
    this.sessionId = opened.sessionId;
    this.csrfToken = opened.csrfToken;
    this.state = 'open';
    this.sendFrame(opened.frame);
    this.event({ event: 'auth.success', level: 'info' });
    this.host.onAuthenticated(this);
  }

  private clearAuthTimer(): void {
    if (this.pending) {
      clearTimeout(this.pending.timer);
      this.pending = undefined;
    }
  }

  /** The transport says the socket is gone. */
  handleClose(code: number): void {
    if (this.state === 'closed') return;
    this.clearAuthTimer();
    this.state = 'closed';
    this.host.onClosed(this, code);
  }

  /** The transport refused a frame (e.g. over maxPayload); it closes the socket itself. */
  handleTransportError(code: ErrorCode): void {
    this.host.onRejected(this, new WsgError(code), undefined);
  }
}
