import type { AuthError } from './errors.js';
import { createHeartbeat, createPings } from './heartbeat.js';
import type { DebugLog } from './logger.js';
import type { ResolvedOptions } from './options.js';
import type { SessionLink } from './outbox.js';
import { createSessionRefresh } from './refresh.js';

/** What `auth_ok` established. */
export interface Session extends SessionLink {
  id: string;
}

/** The client's settings the session reads (a refresh must succeed within `connectTimeoutMs`). */
export type LiveSessionSettings = Pick<
  ResolvedOptions,
  'heartbeat' | 'refreshMarginMs' | 'connectTimeoutMs' | 'now'
>;

export interface LiveSessionHooks {
  log: DebugLog;
  getToken(): Promise<string>;
  /** Writes a control frame on the current socket. */
  send(frame: string): void;
  /** A token or CSRF token the debug log must redact. */
  remember(secret: string): void;
  /** No pong by the heartbeat's deadline: the connection is dead. */
  onDead(): void;
  /** A pong arrived (the heartbeat's or `ping()`'s). */
  onLatency(ms: number): void;
  /** `refresh_ok`: the CSRF token may have rotated and held sends may go. */
  onRefreshed(): void;
  onRefreshFailed(error: AuthError): void;
  /** A refresh started or ended. */
  onRefreshChange(): void;
}

/** The session of the current connection, kept alive (health pings) and fresh (refresh). */
export interface LiveSession {
  /** `auth_ok` arrived. */
  start(session: Session): void;
  /** The client is open: start the health pings, and the refresh before `expiresAt` (or the token's `exp`). */
  keepAlive(token: string, expiresAt: number | undefined): void;
  /** The connection ended. */
  stop(): void;
  /** The session while the connection is authenticated. */
  readonly current: Session | undefined;
  /** When it was authenticated (`now()`). */
  readonly openedAt: number | undefined;
  /** A refresh is under way: application sends wait. */
  readonly refreshing: boolean;
  /** Round trip of the last pong, in ms. */
  readonly latencyMs: number | undefined;
  ping(timeoutMs: number): Promise<number>;
  pong(ts: number): void;
  /** Checks the heartbeat's deadline now (a tab became visible, the browser went offline). */
  check(): void;
  /** Refreshes now (`session_expiring`). */
  refresh(): void;
  refreshOk(frame: { csrfToken?: unknown; expiresAt?: unknown }): void;
  refreshFailed(error: Error): void;
}

export function createLiveSession(settings: LiveSessionSettings, hooks: LiveSessionHooks): LiveSession {
  const o = { ...settings, ...hooks };
  let latency: number | undefined;
  let current: Session | undefined;
  let openedAt: number | undefined;
  const pings = createPings();
  const measured = (ms: number) => {
    latency = ms;
    o.onLatency(ms);
  };
  const heartbeat = o.heartbeat
    ? createHeartbeat({
        ...o.heartbeat,
        now: o.now,
        sendPing: (ts) => o.send(`{"type":"ping","ts":${ts}}`),
        onDead: () => {
          o.log('no pong by the deadline: connection is dead');
          o.onDead();
        },
        onLatency: (ms) => measured(ms),
      })
    : undefined;
  const refresher = createSessionRefresh({
    marginMs: o.refreshMarginMs,
    timeoutMs: o.connectTimeoutMs,
    now: o.now,
    log: o.log,
    getToken: o.getToken,
    sendRefresh: (token) => {
      o.remember(token);
      o.send(JSON.stringify({ type: 'refresh', token }));
    },
    onRefreshed: (csrf) => {
      o.remember(csrf);
      if (current) current.csrf = csrf;
      o.onRefreshed();
    },
    onFailed: o.onRefreshFailed,
    onActiveChange: o.onRefreshChange,
  });
  return {
    start(session) {
      current = session;
      o.remember(session.csrf);
      openedAt = o.now();
    },
    keepAlive(token, expiresAt) {
      heartbeat?.start();
      refresher.start(token, expiresAt);
    },
    stop() {
      heartbeat?.stop();
      refresher.stop();
      current = undefined;
      openedAt = undefined;
    },
    get current() {
      return current;
    },
    get openedAt() {
      return openedAt;
    },
    get latencyMs() {
      return latency;
    },
    get refreshing() {
      return refresher.active;
    },
    ping: (timeoutMs) => pings.ping((ts) => o.send(JSON.stringify({ type: 'ping', ts })), timeoutMs),
    pong(ts) {
      const ms = pings.pong(ts);
      if (ms === undefined) heartbeat?.pong(ts);
      else measured(ms);
    },
    check() {
      heartbeat?.check();
    },
    refresh: refresher.refresh,
    refreshOk(frame) {
      if (current) refresher.ok(frame);
    },
    refreshFailed: refresher.fail,
  };
}
