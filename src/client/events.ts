import type { CloseInfo } from './close-policy.js';
import { createEmitter, type Emitter } from './emitter.js';
import { SecureWebSocketError } from './errors.js';
import type { DebugLog } from './logger.js';
import type { IncomingMap, IncomingMessage, OutgoingMap } from './options.js';
import type { QueueEvent } from './outbox.js';

export type ClientState = 'connecting' | 'authenticating' | 'open' | 'reconnecting' | 'closed';

export interface OpenEvent {
  sessionId: string;
  /** Session expiry (server clock), ms since the epoch. */
  expiresAt: number | undefined;
  /** False for the first connection, true after a reconnect. */
  reconnected: boolean;
}

export interface CloseEvent extends CloseInfo {
  /** Whether the client will reconnect (after `delayMs`). */
  willReconnect: boolean;
  delayMs?: number;
  /** Why the client stopped for good, when it did on its own. */
  error?: Error;
}

export interface StateChangeEvent {
  from: ClientState;
  to: ClientState;
}

export interface LatencyEvent {
  /** Round trip of an app-level ping, in ms. */
  latencyMs: number;
}

export type { QueueEvent, WaitReason } from './outbox.js';

/** Lifecycle events. `message` is untyped here; `on(type)` and `onMessage` give typed payloads. */
export interface ClientEventMap {
  /** Authenticated (first time and after every reconnect). */
  open: OpenEvent;
  /** A connection ended; `willReconnect` says what happens next. */
  close: CloseEvent;
  /** Every application event from the server. */
  message: IncomingMessage<IncomingMap>;
  stateChange: StateChangeEvent;
  /** Every app-level pong (the heartbeat's and `ping()`'s). */
  latency: LatencyEvent;
  /** The outbox changed: messages queued, sent, acked or dropped, or why they wait changed. */
  queue: QueueEvent;
  /** Something went wrong that is not tied to one `send()`: auth refused, a listener threw, ... */
  error: Error;
}

/** The payload part of `send()`'s argument: optional when the type's payload may be undefined. */
export type OutgoingMessage<Out extends OutgoingMap, T extends keyof Out & string> = {
  type: T;
} & (undefined extends Out[T]['payload'] ? { payload?: Out[T]['payload'] } : { payload: Out[T]['payload'] });

export type ResultOf<S> = S extends { result: infer R } ? R : unknown;

/** The client's two event surfaces: lifecycle events and application events by type. */
export interface ClientEvents {
  readonly lifecycle: Emitter<ClientEventMap>;
  readonly app: Emitter<Record<string, unknown>>;
  /** Reports an error that is not tied to one `send()`. */
  error(error: Error): void;
  /** Delivers an application event: `onMessage`, then `message` listeners, then `on(type)` listeners. */
  deliver(type: string, payload: unknown): void;
}

/** A throwing listener becomes an `error` event; a throwing `error` listener is only logged. */
export function createClientEvents(
  log: DebugLog,
  onMessage: ((message: IncomingMessage<IncomingMap>) => void) | undefined,
): ClientEvents {
  const error = (e: Error) => {
    log('error', { error: e });
    lifecycle.emit('error', e);
  };
  const failed = (err: unknown, where: PropertyKey) => {
    if (where === 'error') return log('an error listener threw', { error: err });
    error(new SecureWebSocketError(`a ${String(where)} listener threw`, false, { cause: err }));
  };
  const lifecycle = createEmitter<ClientEventMap>(failed);
  const app = createEmitter<Record<string, unknown>>(failed);
  return {
    lifecycle,
    app,
    error,
    deliver(type, payload) {
      const event = { type, payload } as IncomingMessage<IncomingMap>;
      if (onMessage) {
        try {
          onMessage(event);
        } catch (err) {
          failed(err, 'onMessage');
        }
      }
      lifecycle.emit('message', event);
      app.emit(type, payload);
    },
  };
}
