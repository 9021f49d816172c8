import { type ErrorCode, ErrorCodes } from '../protocol/index.js';

/**
 * The one error type pipeline stages reject with. Its wire form is the registry's short
 * message for `code`; `detail` is for the log only and never sent. Treat it as immutable: a
 * stage may return one shared instance for a refusal that repeats.
 */
export class WsgError extends Error {
  readonly code: ErrorCode;
  readonly retryAfterMs: number | undefined;
  /** Internal detail for the security log; never sent to a peer. */
  readonly detail: unknown;

  constructor(code: ErrorCode, options: { retryAfterMs?: number; detail?: unknown } = {}) {
    // A refusal is a value returned by a stage, never thrown: a stack trace would say nothing,
    // and capturing one is most of what a refused message costs (a flood of bad messages).
    const message = ErrorCodes[code].message;
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      super(message);
    } finally {
      Error.stackTraceLimit = limit;
    }
    this.name = 'WsgError';
    this.code = code;
    this.retryAfterMs = options.retryAfterMs;
    this.detail = options.detail;
  }
}

/** Options error: thrown at setup, never at run time. */
export class WsgConfigError extends Error {
  constructor(message: string) {
    super(`wsguard: ${message}`);
    this.name = 'WsgConfigError';
  }
}
