import type { ErrorCode } from '../protocol/index.js';

/**
 * Base of every error the client produces. `maybeHandled` answers the one question a caller
 * of `send()` has after a rejection: could the server have handled this message anyway?
 */
export class SecureWebSocketError extends Error {
  /** True when the message may have reached the server and been handled; false when it surely was not. */
  readonly maybeHandled: boolean;

  constructor(message: string, maybeHandled: boolean, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SecureWebSocketError';
    this.maybeHandled = maybeHandled;
  }
}

/** The server refused the token (auth, refresh or the upgrade), or `getToken()` failed. */
export class AuthError extends SecureWebSocketError {
  /** The server's code (`WSG_AUTH_FAILED`, ...), when the server said one. */
  readonly code: ServerErrorCode | undefined;

  constructor(message: string, code?: ServerErrorCode, options?: { cause?: unknown }) {
    super(message, false, options);
    this.name = 'AuthError';
    this.code = code;
  }
}

/**
 * A code in an `error` reply: one of this package's, one a newer server added (`WSG_…`), or the
 * application's own (`APP_…`, from a handler's `appError`).
 */
export type ServerErrorCode = ErrorCode | `WSG_${string}` | `APP_${string}`;

/** Codes kept as the server sent them; anything else is reported as WSG_INTERNAL. */
export const SERVER_ERROR_CODE_PATTERN = /^(WSG|APP)_[A-Z0-9_]{1,60}$/;

/** The server answered a message with `error`. */
export class ServerError extends SecureWebSocketError {
  readonly code: ServerErrorCode;
  /** How long the server asks the client to wait, when it says. */
  readonly retryAfterMs: number | undefined;

  constructor(code: ServerErrorCode, message: string, retryAfterMs?: number) {
    // Only a handler that threw (WSG_INTERNAL) or outran its time (and may still finish) can
    // have done part of its work; WSG_RESULT_EXPIRED: it was handled, its result is not kept.
    super(
      message,
      code === 'WSG_INTERNAL' || code === 'WSG_HANDLER_TIMEOUT' || code === 'WSG_RESULT_EXPIRED',
    );
    this.name = 'ServerError';
    this.code = code;
    this.retryAfterMs = retryAfterMs;
  }
}

/** No ack came within `ackTimeoutMs` of the first transmission: the outcome is unknown. */
export class AckTimeoutError extends SecureWebSocketError {
  constructor(
    readonly id: string,
    readonly timeoutMs: number,
  ) {
    super(`no ack within ${timeoutMs} ms`, true);
    this.name = 'AckTimeoutError';
  }
}

/** The queue was full: this message was refused (`reject-new`) or pushed out (`drop-oldest`). */
export class QueueOverflowError extends SecureWebSocketError {
  constructor(readonly policy: 'reject-new' | 'drop-oldest') {
    super(
      policy === 'reject-new' ? 'queue full: message refused' : 'queue full: oldest message dropped',
      false,
    );
    this.name = 'QueueOverflowError';
  }
}

/** The message waited in the queue longer than `queue.ttlMs` and was never sent. */
export class MessageExpiredError extends SecureWebSocketError {
  constructor(readonly ttlMs: number) {
    super(`message not sent within ${ttlMs} ms`, false);
    this.name = 'MessageExpiredError';
  }
}

/** The message itself cannot be sent: bad type name, payload not JSON, too large, or a bad channel name. */
export class InvalidMessageError extends SecureWebSocketError {
  constructor(
    readonly reason: 'type' | 'payload' | 'too-large' | 'channel',
    message: string,
  ) {
    super(message, false);
    this.name = 'InvalidMessageError';
  }
}

/**
 * The client is closed (by `close()`, or because it stopped reconnecting): queued messages are
 * rejected with `maybeHandled: false`, sent but unacked ones with `maybeHandled: true`.
 */
export class ClosedError extends SecureWebSocketError {
  /** The close code that ended the client, when a socket closed. */
  readonly closeCode: number | undefined;
  /** The server's reason code from the close (e.g. `WSG_ANOMALY`), when it gave one. */
  readonly errorCode: ServerErrorCode | undefined;

  constructor(
    message: string,
    maybeHandled: boolean,
    closeCode?: number,
    options?: { cause?: unknown; errorCode?: ServerErrorCode },
  ) {
    super(message, maybeHandled, options);
    this.name = 'ClosedError';
    this.closeCode = closeCode;
    this.errorCode = options?.errorCode;
  }
}

/** The transport failed for good: no WebSocket implementation, a bad URL, or retries exhausted. */
export class ConnectionError extends SecureWebSocketError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, false, options);
    this.name = 'ConnectionError';
  }
}

/**
 * The server sent a message larger than the client's inbound bound (the announced
 * `limits.maxPayload`, else 1 MiB): the client closed the connection with 1009 and reconnects
 * after the backoff. The message was not delivered.
 */
export class InboundTooLargeError extends SecureWebSocketError {
  /** The bound in bytes that the message exceeded. */
  readonly limit: number;

  constructor(limit: number) {
    super(`the server sent a message larger than ${limit} bytes`, false);
    this.name = 'InboundTooLargeError';
    this.limit = limit;
  }
}
