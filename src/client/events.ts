import type { CloseInfo } from './close-policy.js';
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
