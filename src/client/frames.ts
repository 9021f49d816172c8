import {
  type AnnouncedLimits,
  ControlType,
  ErrorCodes,
  isErrorCode,
  readAnnouncedLimits,
} from '../protocol/index.js';
import { BOUNDS, clampRetryAfter } from './bounds.js';
import { SERVER_ERROR_CODE_PATTERN, type ServerErrorCode } from './errors.js';
import { isObject } from './util.js';

/** A frame from the server, checked and normalized; the client acts on these, never on raw JSON. */
export type ServerFrame =
  | {
      kind: 'auth_ok';
      sessionId: string;
      csrfToken: string;
      expiresAt: number | undefined;
      /** The server's largest frame, when it says. */
      maxPayload: number | undefined;
      /** The session's limits, when the server announces them. */
      limits: AnnouncedLimits | undefined;
    }
  /** An `auth_ok` without a session id or CSRF token: the server broke the protocol. */
  | { kind: 'bad_auth_ok' }
  | { kind: 'ack'; id: unknown; result: unknown }
  | {
      kind: 'error';
      /** The message it answers; undefined for a connection-level error. */
      id: string | undefined;
      code: ServerErrorCode;
      message: string;
      retryAfterMs: number | undefined;
    }
  | { kind: 'pong'; ts: number }
  | { kind: 'session_expiring' }
  | { kind: 'refresh_ok'; csrfToken: unknown; expiresAt: unknown; limits: AnnouncedLimits | undefined }
  /** `publication`, `unsubscribed`, `presence`: for the channel manager. */
  | { kind: 'channel'; msg: Record<string, unknown> }
  /** An application event. */
  | { kind: 'event'; type: string; payload: unknown }
  /** Not JSON, or JSON with a key the server would refuse (`__proto__`, `constructor.prototype`). */
  | { kind: 'invalid' };

/**
 * Whether a parsed message has a key the server refuses too: an own `__proto__` anywhere, or a
 * `constructor` object with its own `prototype`. Harmless to JSON.parse's output, but an app
 * that merges the payload into its objects would be polluted. Iterative: depth cannot overflow.
 */
export function hasPollutingKey(root: unknown): boolean {
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const node = stack.pop();
    if (typeof node !== 'object' || node === null) continue;
    if (Array.isArray(node)) {
      for (const v of node) if (typeof v === 'object' && v !== null) stack.push(v);
      continue;
    }
    for (const k of Object.keys(node)) {
      if (k === '__proto__') return true;
      const v = (node as Record<string, unknown>)[k];
      if (typeof v !== 'object' || v === null) continue;
      if (k === 'constructor' && Object.hasOwn(v, 'prototype')) return true;
      stack.push(v);
    }
  }
  return false;
}

/** Parses a text frame; undefined for frames the client ignores (no type, or a client-to-server type). */
export function parseServerFrame(text: string): ServerFrame | undefined {
  let msg: unknown;
  try {
    msg = JSON.parse(text);
  } catch {
    return { kind: 'invalid' };
  }
  if (!isObject(msg) || typeof msg.type !== 'string') return undefined;
  if (hasPollutingKey(msg)) return { kind: 'invalid' };
  switch (msg.type) {
    case 'auth_ok': {
      const { sessionId, csrfToken, expiresAt, limits } = msg;
      if (
        typeof sessionId !== 'string' ||
        sessionId.length > BOUNDS.maxSessionIdLength ||
        typeof csrfToken !== 'string' ||
        csrfToken.length === 0 ||
        csrfToken.length > BOUNDS.maxCsrfTokenLength
      ) {
        return { kind: 'bad_auth_ok' };
      }
      return {
        kind: 'auth_ok',
        sessionId,
        csrfToken,
        expiresAt: typeof expiresAt === 'number' && Number.isFinite(expiresAt) ? expiresAt : undefined,
        maxPayload:
          isObject(limits) && Number.isInteger(limits.maxPayload) && (limits.maxPayload as number) > 0
            ? (limits.maxPayload as number)
            : undefined,
        limits: readAnnouncedLimits(limits),
      };
    }
    case 'ack':
      return { kind: 'ack', id: msg.id, result: msg.result };
    case 'error': {
      // Codes a newer server added (WSG_) and the application's own (APP_) are kept as sent.
      const code: ServerErrorCode =
        typeof msg.code === 'string' && SERVER_ERROR_CODE_PATTERN.test(msg.code)
          ? (msg.code as ServerErrorCode)
          : 'WSG_INTERNAL';
      return {
        kind: 'error',
        id: typeof msg.id === 'string' ? msg.id : undefined,
        code,
        message:
          typeof msg.message === 'string'
            ? msg.message.slice(0, 200)
            : isErrorCode(code)
              ? ErrorCodes[code].message
              : 'Refused',
        retryAfterMs: clampRetryAfter(msg.retryAfterMs, BOUNDS.maxReconnectRetryAfterMs),
      };
    }
    case 'pong':
      return typeof msg.ts === 'number' ? { kind: 'pong', ts: msg.ts } : undefined;
    case 'session_expiring':
      return { kind: 'session_expiring' };
    case 'refresh_ok':
      return {
        kind: 'refresh_ok',
        csrfToken: msg.csrfToken,
        expiresAt: msg.expiresAt,
        limits: readAnnouncedLimits(msg.limits),
      };
    case ControlType.Publication:
    case ControlType.Unsubscribed:
    case ControlType.Presence:
      return { kind: 'channel', msg };
    case 'auth':
    case 'refresh':
    case 'ping':
      return undefined;
    default:
      return { kind: 'event', type: msg.type, payload: msg.payload };
  }
}
