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

/** Limits the server announces so a client can pace itself. */
export interface AnnouncedLimits {
  maxPayload: number;
  messagesPerSecond?: number;
  burst?: number;
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
