import { APP_TYPE_PATTERN, type ErrorCodeInfo, ErrorCodes, isReservedType } from '../protocol/index.js';
import { InvalidMessageError, type ServerErrorCode } from './errors.js';
import { messageId, utf8Length } from './ids.js';
import { isObject, type Timer, toError } from './util.js';

/** Retried after its `retryAfterMs`: refused before any handler ran, for a passing condition. */
export function isRetryable(code: ServerErrorCode): boolean {
  const info = (ErrorCodes as Record<string, ErrorCodeInfo | undefined>)[code];
  return info?.retryable === true;
}

/** An application message in the outbox. */
export interface Pending {
  readonly id: string;
  readonly type: string;
  readonly payloadJson: string | undefined;
  /** Further top-level fields of a channel control message, as `,"k":v…`. */
  readonly fieldsJson?: string;
  readonly bytes: number;
  readonly enqueuedAt: number;
  resolve(result: unknown): void;
  reject(err: Error): void;
  /** Written on the current socket and not yet answered. */
  onWire: boolean;
  firstSentAt?: number;
  ackTimer?: Timer;
  csrfUsed?: string;
  csrfRetried?: boolean;
}

export type Prepared = Omit<Pending, 'resolve' | 'reject'>;

/** Checks and encodes `send()`'s argument; a bad one throws InvalidMessageError. */
export function prepareMessage(message: unknown, now: number): Prepared {
  if (!isObject(message)) throw new InvalidMessageError('type', 'send() needs { type, payload }');
  const { type, payload } = message;
  if (typeof type !== 'string' || !APP_TYPE_PATTERN.test(type) || isReservedType(type)) {
    throw new InvalidMessageError('type', `invalid message type: ${String(type).slice(0, 64)}`);
  }
  let payloadJson: string | undefined;
  try {
    payloadJson = payload === undefined ? undefined : JSON.stringify(payload);
  } catch (err) {
    throw new InvalidMessageError('payload', `payload is not JSON: ${toError(err).message}`);
  }
  if (payload !== undefined && payloadJson === undefined) {
    throw new InvalidMessageError('payload', 'payload is not JSON');
  }
  return {
    id: messageId(),
    type,
    payloadJson,
    bytes: utf8Length(type) + (payloadJson === undefined ? 0 : utf8Length(payloadJson)),
    enqueuedAt: now,
    onWire: false,
  };
}

/** Why application messages wait instead of going out. */
export type WaitReason =
  /** The first connection is being dialed or authenticated. */
  | 'connecting'
  /** The connection was lost; the client is dialing again (or waiting out the backoff). */
  | 'reconnecting'
  /** The browser says it is offline; the client dials again on `online`. */
  | 'offline'
  /** A session refresh is under way; sends resume on `refresh_ok`. */
  | 'refreshing'
  /** The server answered WSG_RATE_LIMITED; sends resume after its `retryAfterMs`. */
  | 'paused'
  /** Sending slower: the server's announced limits (`auth_ok.limits`) allow no more just now. */
  | 'paced'
  /** The client is closed. */
  | 'closed';

/** The outbox as the `queue` event reports it. */
export interface QueueEvent {
  /** Messages waiting to be sent: queued while not connected, or waiting to be resent (`queueSize`). */
  queued: number;
  /** Messages written on the current socket and waiting for their ack. */
  inflight: number;
  /** Sends are held because the server answered WSG_RATE_LIMITED. */
  paused: boolean;
  /** Why the queued messages wait; absent when none waits. */
  reason?: WaitReason;
}
