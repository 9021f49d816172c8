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

/**
 * Why an option was refused, one stable code per kind of mistake (listed in
 * docs/ARCHITECTURE.md, "Configuration errors"). The message says which option and value.
 */
export const ConfigErrorCodes = {
  WSG_CONFIG_NO_AUTH: 'options.auth has neither `jwt` nor `verify`',
  WSG_CONFIG_INVALID_JWT: 'auth.jwt: not exactly one key, a secret under 32 bytes, or HS* with a public key',
  WSG_CONFIG_INVALID_PATH: 'path (or an http endpoint path) does not start with `/`',
  WSG_CONFIG_INVALID_NUMBER: 'a numeric option is not an integer, or below its minimum',
  WSG_CONFIG_INVALID_TYPE: 'an option has the wrong type (a boolean, list or function expected)',
  WSG_CONFIG_INVALID_MESSAGE_TYPE: 'a message type or binaryType is reserved or not a valid name',
  WSG_CONFIG_HANDLER_WITHOUT_SCHEMA: 'a handler has no schema in options.messages',
  WSG_CONFIG_INVALID_SCHEMA:
    'a schema in options.messages is not a Standard Schema v1 validator (Zod 4, Valibot, ArkType), or is Zod 3',
  WSG_CONFIG_INVALID_SERVER:
    'setupWebSockets was given something other than a node:http or node:https Server',
  WSG_CONFIG_MISSING_PACKAGE:
    'a feature needs an optional peer dependency that is not installed (ioredis, prom-client)',
  WSG_CONFIG_INVALID_PROXY: 'a trustProxy entry is not an IP address or CIDR range',
  WSG_CONFIG_INVALID_SESSION: 'a session option is not a positive number, or not a boolean',
  WSG_CONFIG_INVALID_BACKPRESSURE:
    'backpressure: maxBufferedBytes <= 0, graceMs < 0 or hardLimitBytes < maxBufferedBytes',
  WSG_CONFIG_INVALID_LIMIT: 'a limits layer is malformed (rates, windows, counts)',
  WSG_CONFIG_INVALID_PENALTY: 'a limits.penalties option is out of range',
  WSG_CONFIG_INVALID_ANOMALY:
    'anomaly: thresholds do not rise warn < disconnect < block, or a weight, factor or half-life is out of range',
  WSG_CONFIG_INVALID_BAN: 'wss.ban(): durationMs is not a positive number',
  WSG_CONFIG_INVALID_DASHBOARD:
    'dashboard: no token of at least 32 bytes, a path that is not absolute or overlaps the endpoint, or a bad number',
  WSG_CONFIG_INVALID_AUTHORIZE: 'an authorize rule is not a function, or names a type without a schema',
  WSG_CONFIG_INVALID_CHANNEL:
    'a channel pattern is not <namespace>:<rest> with {params}, two patterns match the same names, or its options are malformed',
  WSG_CONFIG_INVALID_APP_ERROR:
    'appError(): the code is not APP_[A-Z0-9_] or the message is not 1 to 200 characters',
  WSG_CONFIG_INVALID_ARGUMENT: 'an admin call (publish, sendToUser) got an invalid event or type name',
  WSG_CONFIG_NO_ALLOWED_HOSTS:
    'production without allowedHosts or allowedOrigins: any Host would be accepted (DNS rebinding)',
} as const;

export type ConfigErrorCode = keyof typeof ConfigErrorCodes;

/** Options error: thrown at setup (or by an admin call given a bad argument), never at run time. */
export class WsgConfigError extends Error {
  /** Stable: never renamed, never reused. */
  readonly code: ConfigErrorCode;

  constructor(code: ConfigErrorCode, message: string) {
    super(`wsguard: ${message}`);
    this.name = 'WsgConfigError';
    this.code = code;
  }
}
