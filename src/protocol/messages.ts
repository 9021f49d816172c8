import type { ErrorCode } from './error-codes.js';

/** Protocol version spoken by this package; also offered as the subprotocol `wsguard.v1`. */
export const PROTOCOL_VERSION = 1;
export const SUBPROTOCOL = 'wsguard.v1';
/** Prefix of the subprotocol entry that carries a bearer token: `wsguard.bearer.<token>`. */
export const BEARER_SUBPROTOCOL_PREFIX = 'wsguard.bearer.';

/** Control message type names. Reserved: an application type may not use them. */
export const ControlType = {
  Auth: 'auth',
  Refresh: 'refresh',
  Ping: 'ping',
  Pong: 'pong',
  Ack: 'ack',
  Error: 'error',
  AuthOk: 'auth_ok',
  RefreshOk: 'refresh_ok',
  SessionExpiring: 'session_expiring',
  Subscribe: 'subscribe',
  Unsubscribe: 'unsubscribe',
  Publish: 'publish',
  Publication: 'publication',
  Unsubscribed: 'unsubscribed',
  /** Who joined or left a channel with presence. */
  Presence: 'presence',
} as const;

export type ControlType = (typeof ControlType)[keyof typeof ControlType];

const reserved: ReadonlySet<string> = new Set(Object.values(ControlType));

export function isReservedType(type: string): boolean {
  return reserved.has(type);
}

/** Application type names: a letter, then up to 63 letters, digits, `_ . : -`. */
export const APP_TYPE_PATTERN = /^[A-Za-z][\w.:-]{0,63}$/;
/** Message ids (idempotency keys): 1 to 64 printable ASCII characters. */
export const MESSAGE_ID_PATTERN = /^[\x21-\x7e]{1,64}$/;

/**
 * Channel names: `<namespace>:<rest>`, 1 to 128 characters of `[A-Za-z0-9:_-.@]`. The set leaves
 * out `/`, `{`, `}`, `*`, spaces and anything outside ASCII, so a name can never look like a
 * path, a pattern or a capability wildcard.
 */
export const CHANNEL_NAME_PATTERN = /^[A-Za-z0-9_.@-]+:[A-Za-z0-9:_.@-]+$/;
export const MAX_CHANNEL_NAME = 128;

export function isChannelName(value: unknown): value is string {
  return typeof value === 'string' && value.length <= MAX_CHANNEL_NAME && CHANNEL_NAME_PATTERN.test(value);
}

/** Codes an application refuses with (`APP_NOT_FOUND`): `APP_`, then capitals, digits, `_`. */
export const APP_ERROR_CODE_PATTERN = /^APP_[A-Z0-9_]{1,60}$/;
export type AppErrorCode = `APP_${string}`;

export function isAppErrorCode(value: unknown): value is AppErrorCode {
  return typeof value === 'string' && APP_ERROR_CODE_PATTERN.test(value);
}
/** Longest message an application error may carry on the wire. */
export const MAX_APP_ERROR_MESSAGE = 200;

/** Where a client resumes a channel with history: the epoch and the last offset it has. */
export interface StreamPosition {
  epoch: string;
  offset: number;
}

// Client -> server

export interface AuthMessage {
  type: 'auth';
  token: string;
}
export interface RefreshMessage {
  type: 'refresh';
  token: string;
}
export interface PingMessage {
  type: 'ping';
  ts: number;
}
export interface AppMessage<T extends string = string, P = unknown> {
  /** Idempotency key: a repeated id in the session's dedupe window is acked again, not handled again. */
  id?: string;
  type: T;
  payload?: P;
  /** The session's CSRF token from `auth_ok`. */
  csrf?: string;
}
export interface SubscribeMessage {
  id: string;
  type: 'subscribe';
  channel: string;
  csrf: string;
  since?: StreamPosition;
}
export interface UnsubscribeMessage {
  id: string;
  type: 'unsubscribe';
  channel: string;
  csrf: string;
}
export interface PublishMessage<E extends string = string, P = unknown> {
  id: string;
  type: 'publish';
  channel: string;
  event: E;
  payload: P;
  csrf: string;
}
export type ClientMessage =
  | AuthMessage
  | RefreshMessage
  | PingMessage
  | SubscribeMessage
  | UnsubscribeMessage
  | PublishMessage
  | AppMessage;

// Server -> client

/** A token bucket as announced: `rate` tokens per second refill, up to `burst`. */
export interface AnnouncedRate {
  rate: number;
  burst: number;
}

/**
 * The session's effective limits, sent in `auth_ok` and `refresh_ok` so a client can pace
 * itself and never be refused. A layer the server does not enforce is absent.
 */
export interface AnnouncedLimits {
  /** Largest frame, bytes (a larger one closes the socket 1009). */
  maxPayload: number;
  /** Most channels one socket may be subscribed to. */
  maxSubscriptions?: number;
  /** Messages per second on this socket (token bucket), and its burst. */
  messagesPerSecond?: number;
  burst?: number;
  /** Bytes (UTF-8 frame length) per second on this socket, and the burst. */
  bytes?: AnnouncedRate;
  /** Messages per second for the user across all its sockets and nodes, and the burst. */
  user?: AnnouncedRate;
  /** Per message type, per user (a type missing here has no own limit); `cost` tokens a message. */
  types?: Record<string, AnnouncedRate & { cost?: number }>;
  /** Upgrade attempts per IP: at most `max` in a fixed window of `windowMs` (then 429). */
  connectionsPerIp?: { max: number; windowMs: number };
}

const saneRate = (v: unknown): v is number => typeof v === 'number' && v > 0 && Number.isFinite(v);

function readRate(v: unknown): AnnouncedRate | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const { rate, burst } = v as Record<string, unknown>;
  return saneRate(rate) && saneRate(burst) && burst >= 1 ? { rate, burst } : undefined;
}

/** Most per-type entries read from an announcement (a hostile server cannot grow the client). */
const MAX_ANNOUNCED_TYPES = 256;

/**
 * Reads `limits` from `auth_ok`/`refresh_ok` without trusting it: fields that are missing or not
 * sane numbers are left out; undefined when there is no usable `maxPayload`.
 */
export function readAnnouncedLimits(v: unknown): AnnouncedLimits | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const o = v as Record<string, unknown>;
  if (!saneRate(o.maxPayload)) return undefined;
  const out: AnnouncedLimits = { maxPayload: o.maxPayload };
  if (typeof o.maxSubscriptions === 'number' && o.maxSubscriptions >= 0)
    out.maxSubscriptions = o.maxSubscriptions;
  const socket = readRate({ rate: o.messagesPerSecond, burst: o.burst });
  if (socket) {
    out.messagesPerSecond = socket.rate;
    out.burst = socket.burst;
  }
  const bytes = readRate(o.bytes);
  if (bytes) out.bytes = bytes;
  const user = readRate(o.user);
  if (user) out.user = user;
  if (typeof o.types === 'object' && o.types !== null) {
    const types: Record<string, AnnouncedRate & { cost?: number }> = {};
    let n = 0;
    for (const [type, t] of Object.entries(o.types as Record<string, unknown>)) {
      if (n >= MAX_ANNOUNCED_TYPES) break;
      const r = readRate(t);
      if (!r || !APP_TYPE_PATTERN.test(type)) continue;
      const cost = (t as Record<string, unknown>).cost;
      types[type] = saneRate(cost) ? { ...r, cost } : r;
      n++;
    }
    if (n > 0) out.types = types;
  }
  const c = o.connectionsPerIp as Record<string, unknown> | null | undefined;
  if (typeof c === 'object' && c !== null && saneRate(c.max) && c.max >= 1 && saneRate(c.windowMs))
    out.connectionsPerIp = { max: c.max, windowMs: c.windowMs };
  return out;
}
export interface AuthOkMessage {
  type: 'auth_ok';
  sessionId: string;
  csrfToken: string;
  /** Session expiry, ms since the epoch. */
  expiresAt: number;
  heartbeatMs: number;
  limits?: AnnouncedLimits;
}
export interface RefreshOkMessage {
  type: 'refresh_ok';
  expiresAt: number;
  csrfToken: string;
  /** The limits again: a refreshed token may carry other rights. */
  limits?: AnnouncedLimits;
}
export interface AckMessage<R = unknown> {
  type: 'ack';
  id: string;
  result?: R;
}
export interface ErrorMessage {
  type: 'error';
  id?: string;
  /** A wsguard code, or the application's own `APP_` code (its message chosen by the app). */
  code: ErrorCode | AppErrorCode;
  message: string;
  retryAfterMs?: number;
}
export interface PongMessage {
  type: 'pong';
  ts: number;
}
export interface SessionExpiringMessage {
  type: 'session_expiring';
  expiresAt: number;
}
/** The ack of a subscribe: `{"type":"ack","id","result":SubscribeResult}`. */
export interface SubscribeResult {
  channel: string;
  epoch?: string;
  offset?: number;
  recovered?: boolean;
  /** Channels with presence: how many are here, and up to the channel's `maxMembers` of them. */
  presence?: { count: number; members: { userId: string }[] };
}
export interface PublicationMessage<E extends string = string, P = unknown> {
  type: 'publication';
  channel: string;
  event: E;
  payload: P;
  offset?: number;
  epoch?: string;
}
/** The server dropped a subscription (lost right, revocation, `wss.unsubscribe`). */
export interface UnsubscribedMessage {
  type: 'unsubscribed';
  channel: string;
  code: ErrorCode;
}
export interface AppEvent<T extends string = string, P = unknown> {
  type: T;
  payload: P;
}
export type ServerMessage =
  | AuthOkMessage
  | RefreshOkMessage
  | AckMessage
  | ErrorMessage
  | PongMessage
  | SessionExpiringMessage
  | PublicationMessage
  | UnsubscribedMessage
  | AppEvent;
