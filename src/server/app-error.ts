import { APP_ERROR_CODE_PATTERN, type AppErrorCode, MAX_APP_ERROR_MESSAGE } from '../protocol/index.js';
import { WsgConfigError } from './errors.js';

/**
 * A refusal decided by the application (`throw appError('APP_NOT_FOUND', 'No such room')`): the
 * client gets this code and message in its `error` reply, the log gets the code without a stack.
 * Any other thrown value stays `WSG_INTERNAL`, so an internal message never reaches a peer by mistake.
 */
export class AppError extends Error {
  readonly code: AppErrorCode;

  constructor(code: AppErrorCode, message: string) {
    // Thrown on purpose, often many times a second: a stack would say nothing and cost most.
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      super(message);
    } finally {
      Error.stackTraceLimit = limit;
    }
    this.name = 'AppError';
    this.code = code;
  }
}

/**
 * Makes the error a handler or an `authorize` throws to refuse with the app's own code. The code
 * must match `APP_[A-Z0-9_]{1,60}` and the message be 1 to 200 characters; otherwise this throws
 * a WsgConfigError (a programming error, which the client sees as `WSG_INTERNAL`).
 */
export function appError(code: AppErrorCode, message: string): AppError {
  if (!APP_ERROR_CODE_PATTERN.test(code)) {
    throw new WsgConfigError(
      'WSG_CONFIG_INVALID_APP_ERROR',
      `appError code must match ${APP_ERROR_CODE_PATTERN}, got ${String(code)}`,
    );
  }
  if (typeof message !== 'string' || message.length === 0 || message.length > MAX_APP_ERROR_MESSAGE) {
    throw new WsgConfigError(
      'WSG_CONFIG_INVALID_APP_ERROR',
      `appError message must be 1 to ${MAX_APP_ERROR_MESSAGE} characters`,
    );
  }
  return new AppError(code, message);
}

export function isAppError(err: unknown): err is AppError {
  return err instanceof AppError;
}

/** `{"type":"error","id"?,"code":"APP_…","message":"…"}` */
export function appErrorFrame(err: AppError, id: string | undefined): string {
  const idPart = id === undefined ? '' : `"id":${JSON.stringify(id)},`;
  return `{"type":"error",${idPart}"code":${JSON.stringify(err.code)},"message":${JSON.stringify(err.message)}}`;
}
