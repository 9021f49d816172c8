import { type BackoffOptions, checkBackoff } from './backoff.js';
import type { CloseInfo } from './close-policy.js';
import type { ClientLogger } from './logger.js';
import { checkQueueLimits, type OverflowPolicy, type QueueLimits } from './queue.js';
import type { WebSocketConstructor } from './transport.js';

/** One outgoing message type: its payload and the `result` its ack carries. */
export interface MessageSpec {
  payload: unknown;
  result?: unknown;
}
/** Outgoing message types by name. */
export type OutgoingMap = Record<string, MessageSpec>;
/** Incoming application events by name: type -> payload. */
export type IncomingMap = Record<string, unknown>;

/** An application event from the server. */
export type IncomingMessage<In extends IncomingMap> = {
  [K in keyof In & string]: { type: K; payload: In[K] };
}[keyof In & string];

export interface ReconnectOptions {
  /** Floor of the backoff: the shortest wait before a reconnect. @default 500 */
  minDelayMs?: number;
  /** Cap of the backoff: the longest wait (a server's retry-after may ask for longer). @default 30000 */
  maxDelayMs?: number;
  /** Growth of the backoff's upper bound per failed attempt. @default 2 */
  factor?: number;
  /** Failed attempts in a row before the client gives up and closes. @default Infinity */
  maxRetries?: number;
  /** A connection must stay up this long before the attempt counter resets. @default 5000 */
  minUptimeMs?: number;
}

export interface QueueOptions {
  /** Most messages waiting for a connection. @default 1000 */
  maxMessages?: number;
  /** Most bytes (UTF-8 of type and payload) waiting for a connection. @default 1048576 (1 MiB) */
  maxBytes?: number;
  /** A message not sent within this time after `send()` is dropped (MessageExpiredError). @default 60000 */
  ttlMs?: number;
  /** When full: refuse the new message, or drop the oldest queued one. @default 'reject-new' */
  overflow?: OverflowPolicy;
}

export interface HeartbeatOptions {
  /** Time between app-level pings. @default 25000 */
  intervalMs?: number;
  /** A pong missing this long (wall clock) means the connection is dead. @default 10000 */
  timeoutMs?: number;
}

export interface RefreshOptions {
  /**
   * Refresh this long before the session or the JWT expires (at most half the time left).
   * @default 60000
   */
  marginMs?: number;
}

export interface SecureWebSocketOptions<In extends IncomingMap = IncomingMap> {
  /** `ws://` or `wss://` URL of the endpoint (relative URLs resolve against the page in browsers). */
  url: string;
  /** A fixed token. Give this or `getToken`. @default undefined */
  authToken?: string;
  /**
   * Returns a fresh token; called on every connect and refresh, one call in flight at a time.
   * Takes precedence over `authToken`. @default undefined
   */
  getToken?: () => string | Promise<string>;
  /**
   * How the token travels: the first `auth` message, or a `wsguard.bearer.<token>` subprotocol
   * in the upgrade request. Never in the URL. @default 'message'
   */
  authTransport?: 'message' | 'protocol';
  /**
   * The WebSocket implementation. @default in Node the `ws` package loaded on first connect (its
   * upgrade status, read-time bound and deflate switch), the global WebSocket only when `ws`
   * cannot be loaded; in browsers the global WebSocket
   */
  WebSocket?: WebSocketConstructor;
  /** Reconnect with backoff, or `false` to never reconnect. @default {} (all defaults) */
  reconnect?: ReconnectOptions | false;
  /**
   * Decides whether to reconnect after a close; `undefined` keeps the close-code table's choice.
   * @default undefined
   */
  shouldReconnect?: (info: CloseInfo) => boolean | undefined;
  /** Time allowed from dialing (token included) to `auth_ok`. @default 10000 */
  connectTimeoutMs?: number;
  /** Time allowed from a message's first transmission to its ack. @default 30000 */
  ackTimeoutMs?: number;
  /** Bounds of the queue of messages sent while not connected. @default {} (all defaults) */
  queue?: QueueOptions;
  /** App-level ping/pong, or `false` for none. @default {} (all defaults) */
  heartbeat?: HeartbeatOptions | false;
  /** Session refresh timing. @default {} (all defaults) */
  refresh?: RefreshOptions;
  /**
   * Resend a message the server refused with WSG_RATE_LIMITED once its `retryAfterMs` has passed,
   * pausing sends until then (within `ackTimeoutMs`). @default true
   */
  retryRateLimited?: boolean;
  /** Called with every application event from the server. @default undefined */
  onMessage?(message: IncomingMessage<In>): void;
  /** Log the connection's life (tokens and CSRF values redacted). @default false */
  debug?: boolean;
  /** Where debug output goes. @default console */
  logger?: ClientLogger;
  /** Randomness of the backoff jitter (inject a seeded one for tests). @default Math.random */
  random?: () => number;
  /** The wall clock, in ms since the epoch (inject for tests). @default Date.now */
  now?: () => number;
}

export interface ResolvedOptions {
  reconnect: Required<ReconnectOptions> | false;
  backoff: BackoffOptions;
  queue: QueueLimits;
  heartbeat: Required<HeartbeatOptions> | false;
  refreshMarginMs: number;
  connectTimeoutMs: number;
  ackTimeoutMs: number;
  retryRateLimited: boolean;
  authTransport: 'message' | 'protocol';
  random: () => number;
  now: () => number;
}

export const DEFAULTS = {
  reconnect: {
    minDelayMs: 500,
    maxDelayMs: 30_000,
    factor: 2,
    maxRetries: Number.POSITIVE_INFINITY,
    minUptimeMs: 5000,
  },
  queue: {
    maxMessages: 1000,
    maxBytes: 1024 * 1024,
    ttlMs: 60_000,
    overflow: 'reject-new' as OverflowPolicy,
  },
  heartbeat: { intervalMs: 25_000, timeoutMs: 10_000 },
  refreshMarginMs: 60_000,
  connectTimeoutMs: 10_000,
  ackTimeoutMs: 30_000,
} as const;

function positive(name: string, value: number): number {
  if (!(typeof value === 'number' && value > 0))
    throw new TypeError(`${name} must be a number > 0, got ${value}`);
  return value;
}

/** Fills in defaults and checks every option: a bad one throws a TypeError at construction. */
export function resolveOptions(o: SecureWebSocketOptions<IncomingMap>): ResolvedOptions {
  if (typeof o !== 'object' || o === null) throw new TypeError('SecureWebSocket needs an options object');
  if (typeof o.url !== 'string' || o.url.length === 0)
    throw new TypeError('options.url must be a URL string');
  if (o.getToken === undefined && o.authToken === undefined) {
    throw new TypeError('SecureWebSocket needs authToken or getToken: every connection is authenticated');
  }
  if (o.getToken === undefined && (typeof o.authToken !== 'string' || o.authToken.length === 0)) {
    throw new TypeError('options.authToken must be a non-empty string');
  }
  if (o.getToken !== undefined && typeof o.getToken !== 'function') {
    throw new TypeError('options.getToken must be a function');
  }
  const authTransport = o.authTransport ?? 'message';
  if (authTransport !== 'message' && authTransport !== 'protocol') {
    throw new TypeError(
      `options.authTransport must be 'message' or 'protocol', got ${String(authTransport)}`,
    );
  }
  const reconnect = o.reconnect === false ? false : { ...DEFAULTS.reconnect, ...o.reconnect };
  const backoff = reconnect === false ? { ...DEFAULTS.reconnect } : reconnect;
  checkBackoff(backoff);
  if (reconnect !== false && !(reconnect.maxRetries >= 0)) {
    throw new TypeError(`reconnect.maxRetries must be >= 0, got ${reconnect.maxRetries}`);
  }
  const queue = { ...DEFAULTS.queue, ...o.queue };
  checkQueueLimits(queue);
  const heartbeat = o.heartbeat === false ? false : { ...DEFAULTS.heartbeat, ...o.heartbeat };
  if (heartbeat) {
    positive('heartbeat.intervalMs', heartbeat.intervalMs);
    positive('heartbeat.timeoutMs', heartbeat.timeoutMs);
  }
  const refreshMarginMs = o.refresh?.marginMs ?? DEFAULTS.refreshMarginMs;
  if (!(refreshMarginMs >= 0)) throw new TypeError(`refresh.marginMs must be >= 0, got ${refreshMarginMs}`);
  return {
    reconnect,
    backoff,
    queue,
    heartbeat,
    refreshMarginMs,
    connectTimeoutMs: positive('connectTimeoutMs', o.connectTimeoutMs ?? DEFAULTS.connectTimeoutMs),
    ackTimeoutMs: positive('ackTimeoutMs', o.ackTimeoutMs ?? DEFAULTS.ackTimeoutMs),
    retryRateLimited: o.retryRateLimited ?? true,
    authTransport,
    random: o.random ?? Math.random,
    now: o.now ?? Date.now,
  };
}

/** Resolves the URL (relative ones against the page) and refuses anything but ws: and wss:. */
export function resolveUrl(url: string): string {
  const base = (globalThis as { location?: { href?: unknown } }).location?.href;
  let parsed: URL;
  try {
    parsed = typeof base === 'string' ? new URL(url, base) : new URL(url);
  } catch {
    throw new TypeError(`options.url is not a valid URL: ${url}`);
  }
  if (parsed.protocol === 'http:') parsed.protocol = 'ws:';
  else if (parsed.protocol === 'https:') parsed.protocol = 'wss:';
  if (parsed.protocol !== 'ws:' && parsed.protocol !== 'wss:') {
    throw new TypeError(`options.url must be ws: or wss:, got ${parsed.protocol}`);
  }
  return parsed.href;
}
