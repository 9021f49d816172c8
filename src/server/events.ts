import { type Logger, type LoggerOptions, pino } from 'pino';
import type { ErrorCode } from '../protocol/index.js';

/** Stable security event names (documented in docs/ARCHITECTURE.md). */
export type SecurityEventName =
  | 'connection.accepted'
  | 'connection.rejected'
  | 'connection.closed'
  | 'auth.success'
  | 'auth.failure'
  | 'origin.rejected'
  | 'message.rejected'
  | 'validation.failure'
  | 'csrf.failure'
  | 'rate.limited'
  | 'penalty.blocked'
  | 'anomaly.flagged'
  | 'session.refreshed'
  | 'session.expired'
  | 'session.revoked'
  | 'handler.error'
  | 'handler.refused'
  | 'authz.forbidden'
  | 'handler.refused'
  | 'store.degraded'
  | 'store.recovered'
  | 'proxy.invalid_hop'
  | 'server.closing'
  | 'admin.action';

export interface SecurityEvent {
  event: SecurityEventName;
  level: 'info' | 'warn' | 'error';
  ip?: string;
  userId?: string;
  sessionId?: string;
  /** Correlates every event of one socket. */
  connectionId?: string;
  code?: ErrorCode;
  closeCode?: number;
  /** Internal detail for operators; never sent to a peer. */
  detail?: unknown;
}

export type EventListener = (event: SecurityEvent) => void;

/** An event about one socket, before the socket adds its ids (Connection.event). */
export type SocketEvent = Omit<SecurityEvent, 'ip' | 'userId' | 'sessionId' | 'connectionId'>;

export interface EventBus {
  emit(event: SecurityEvent): void;
  /** Adds a listener (metrics, stats); returns the function that removes it. */
  subscribe(listener: EventListener): () => void;
  readonly logger: Logger | undefined;
}

/** Paths pino blanks wherever they appear in a log line. */
export const REDACT_PATHS = [
  'token',
  '*.token',
  'csrf',
  '*.csrf',
  'csrfToken',
  '*.csrfToken',
  'authorization',
  '*.authorization',
  'headers.authorization',
  'headers["sec-websocket-protocol"]',
  'req.headers.authorization',
  'secret',
  '*.secret',
];

export function createLogger(option: Logger | LoggerOptions | false | undefined): Logger | undefined {
  if (option === false) return undefined;
  if (
    option &&
    typeof (option as Logger).child === 'function' &&
    typeof (option as Logger).info === 'function'
  ) {
    return option as Logger;
  }
  const opts = (option ?? {}) as LoggerOptions;
  return pino({ name: 'wsguard', level: 'info', ...opts, redact: opts.redact ?? REDACT_PATHS });
}

/**
 * C0 and C1 controls, DEL, and the characters that reorder or hide text in a terminal or a log
 * viewer: bidi embeddings, overrides and isolates, marks, line and paragraph separators. JSON
 * escapes only C0; a log shipper, pino-pretty or `less` turns `\u001b` or a raw U+202E back
 * into a live escape sequence or a reversed line.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
const hex = (c: string) => `\\u${(c.codePointAt(0) as number).toString(16).padStart(4, '0')}`;

/** `s` with every unsafe character written as the six characters `\uXXXX`. */
export function escapeForLog(s: string): string {
  UNSAFE.lastIndex = 0;
  return UNSAFE.test(s) ? s.replace(UNSAFE, hex) : s;
}

/** Escapes every string in a log record (attacker text can sit anywhere in `detail`). */
function escapeFields(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return escapeForLog(value);
  if (value === null || typeof value !== 'object' || depth > 4) return value;
  if (Array.isArray(value)) return value.map((v) => escapeFields(v, depth + 1));
  if (Object.getPrototypeOf(value) !== Object.prototype) return escapeForLog(String(value));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[escapeForLog(k)] = escapeFields(v, depth + 1);
  return out;
}

export function createEventBus(logger: Logger | undefined, onEvent?: EventListener): EventBus {
  const listeners = new Set<EventListener>();
  if (onEvent) listeners.add(onEvent);
  return {
    logger,
    emit(e) {
      if (logger) {
        const { level, event, ...fields } = e;
        logger[level]({ event, ...(escapeFields(fields) as object) }, event);
      }
      for (const l of listeners) {
        try {
          l(e);
        } catch (err) {
          logger?.error({ event: 'listener.error', detail: escapeForLog(String(err)) }, 'listener.error');
        }
      }
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
