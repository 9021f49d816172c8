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
export type ClientMessage = AuthMessage | RefreshMessage | PingMessage | AppMessage;

// Server -> client

/** A token bucket as announced: `rate` tokens per second refill, up to `burst`. */
export interface AnnouncedRate {
  rate: number;
  burst: number;
}

/** A per-type bucket: each message of the type takes `cost` tokens. */
export interface AnnouncedTypeRate extends AnnouncedRate {
  cost: number;
}

/**
 * The session's effective limits, sent in `auth_ok` and `refresh_ok` so a client can pace
 * itself and never be refused. A layer the server does not enforce is absent.
 */
export interface AnnouncedLimits {
  /** Largest frame, bytes (a larger one closes the socket 1009). */
  maxPayload: number;
  /** Per socket, checked on every frame (messages and bytes). */
  socket?: { messages?: AnnouncedRate; bytes?: AnnouncedRate };
  /** Per user, across all the user's sockets (and nodes sharing a store). */
  user?: { messages?: AnnouncedRate; bytes?: AnnouncedRate };
  /** Per user and message type. */
  types?: Record<string, AnnouncedTypeRate>;
  /** Channels a socket may hold at once, where the server has channels. */
  maxSubscriptions?: number;
}

function readRate(v: unknown): AnnouncedRate | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const { rate, burst } = v as Record<string, unknown>;
  if (typeof rate !== 'number' || !(rate > 0) || !Number.isFinite(rate)) return undefined;
  if (typeof burst !== 'number' || !(burst >= 1) || !Number.isFinite(burst)) return undefined;
  return { rate, burst };
}

function readPair(v: unknown): { messages?: AnnouncedRate; bytes?: AnnouncedRate } | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const o = v as Record<string, unknown>;
  const out: { messages?: AnnouncedRate; bytes?: AnnouncedRate } = {};
  const messages = readRate(o.messages);
  const bytes = readRate(o.bytes);
  if (messages) out.messages = messages;
  if (bytes) out.bytes = bytes;
  return messages || bytes ? out : undefined;
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
  if (typeof o.maxPayload !== 'number' || !(o.maxPayload > 0)) return undefined;
  const out: AnnouncedLimits = { maxPayload: o.maxPayload };
  const socket = readPair(o.socket);
  const user = readPair(o.user);
  if (socket) out.socket = socket;
  if (user) out.user = user;
  if (typeof o.types === 'object' && o.types !== null) {
    const types: Record<string, AnnouncedTypeRate> = {};
    let n = 0;
    for (const [type, t] of Object.entries(o.types as Record<string, unknown>)) {
      if (n >= MAX_ANNOUNCED_TYPES) break;
      const r = readRate(t);
      if (!r || !APP_TYPE_PATTERN.test(type)) continue;
      const cost = (t as Record<string, unknown>).cost;
      types[type] = { ...r, cost: typeof cost === 'number' && cost > 0 && Number.isFinite(cost) ? cost : 1 };
      n++;
    }
    if (n > 0) out.types = types;
  }
  if (typeof o.maxSubscriptions === 'number' && o.maxSubscriptions >= 0)
    out.maxSubscriptions = o.maxSubscriptions;
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
  code: ErrorCode;
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
  | AppEvent;
