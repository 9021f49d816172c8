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

export function createEventBus(logger: Logger | undefined, onEvent?: EventListener): EventBus {
  const listeners = new Set<EventListener>();
  if (onEvent) listeners.add(onEvent);
  return {
    logger,
    emit(e) {
      if (logger) {
        const { level, event, ...fields } = e;
        logger[level]({ event, ...fields }, event);
      }
      for (const l of listeners) {
        try {
          l(e);
        } catch (err) {
          logger?.error({ event: 'listener.error', detail: String(err) }, 'listener.error');
        }
      }
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
