import { type ErrorCode, ErrorCodes } from '../protocol/index.js';

/**
 * The one error type pipeline stages reject with. Its wire form is the registry's short
 * message for `code`; `detail` is for the log only and never sent.
 */
export class WsgError extends Error {
  readonly code: ErrorCode;
  readonly retryAfterMs: number | undefined;
  /** Internal detail for the security log; never sent to a peer. */
  readonly detail: unknown;

  constructor(code: ErrorCode, options: { retryAfterMs?: number; detail?: unknown } = {}) {
    super(ErrorCodes[code].message);
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
