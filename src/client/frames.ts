import { ControlType, ErrorCodes, isErrorCode } from '../protocol/index.js';
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
  | { kind: 'refresh_ok'; csrfToken: unknown; expiresAt: unknown }
  /** `publication`, `unsubscribed`, `presence`: for the channel manager. */
  | { kind: 'channel'; msg: Record<string, unknown> }
  /** An application event. */
  | { kind: 'event'; type: string; payload: unknown }
  /** Not JSON. */
  | { kind: 'invalid' };

/** Parses a text frame; undefined for frames the client ignores (no type, or a client-to-server type). */
export function parseServerFrame(text: string): ServerFrame | undefined {
  let msg: unknown;
  try {
    msg = JSON.parse(text);
  } catch {
    return { kind: 'invalid' };
  }
  if (!isObject(msg) || typeof msg.type !== 'string') return undefined;
  switch (msg.type) {
    case 'auth_ok': {
      const { sessionId, csrfToken, expiresAt, limits } = msg;
      if (typeof sessionId !== 'string' || typeof csrfToken !== 'string' || csrfToken.length === 0) {
        return { kind: 'bad_auth_ok' };
      }
      return {
        kind: 'auth_ok',
        sessionId,
        csrfToken,
        expiresAt: typeof expiresAt === 'number' ? expiresAt : undefined,
        maxPayload: isObject(limits) && typeof limits.maxPayload === 'number' ? limits.maxPayload : undefined,
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
        retryAfterMs:
          typeof msg.retryAfterMs === 'number' && msg.retryAfterMs >= 0 ? msg.retryAfterMs : undefined,
      };
    }
    case 'pong':
      return typeof msg.ts === 'number' ? { kind: 'pong', ts: msg.ts } : undefined;
    case 'session_expiring':
      return { kind: 'session_expiring' };
    case 'refresh_ok':
      return { kind: 'refresh_ok', csrfToken: msg.csrfToken, expiresAt: msg.expiresAt };
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
