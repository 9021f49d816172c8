/**
 * Every default value of the server, in one place. The option types' TSDoc `@default` tags name
 * these values (a test compares them), and every module reads its defaults from here.
 * This file imports nothing, so any module may read it without creating an import cycle.
 */

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

export const DEFAULTS = deepFreeze({
  // WsGuardOptions
  path: '/ws',
  messages: {},
  handlers: {},
  trustProxy: [] as string[],
  allowQueryToken: false,
  authTimeoutMs: 5000,
  handlerTimeoutMs: 30_000,
  maxPayload: 64 * 1024,
  maxSubscriptions: 100,
  /** Before auth only an `auth` message is valid: a token (8192 characters at most) and its envelope. */
  preAuthMaxPayload: 10 * 1024,
  maxDepth: 32,
  maxKeys: 2000,
  perMessageDeflate: false,
  csrf: true,
  csrfExempt: [] as string[],
  dedupeWindow: 1000,
  dedupeTtlMs: 60_000,
  /** One user's remembered replies and ids, estimated bytes (a string counts 2 bytes a character). */
  dedupeUserBytes: 256 * 1024,
  /** All users' remembered replies and ids, estimated bytes. */
  dedupeTotalBytes: 32 * 1024 * 1024,
  /** A reply larger than this (estimated bytes) is not remembered; a resend of its id gets WSG_RESULT_EXPIRED. */
  dedupeMaxResultBytes: 4096,
  heartbeatMs: 30_000,

  session: {
    maxAgeMs: 86_400_000,
    idleTimeoutMs: 1_800_000,
    refreshWindowMs: 60_000,
    rotateCsrfOnRefresh: false,
    checkIntervalMs: 1000,
  },

  backpressure: {
    maxBufferedBytes: 1_048_576,
    graceMs: 5000,
    /** hardLimitBytes defaults to this many times maxBufferedBytes. */
    hardLimitFactor: 4,
  },

  http: {
    healthPath: '/healthz',
    metricsPath: '/metrics',
    mount: true,
    /** Requests per peer address to /healthz and /metrics together. */
    rateLimit: { rate: 1, burst: 10 },
  },

  jwt: {
    // No skew for exp by default: PROTOCOL.md promises an expired token is refused at once.
    clockTolerance: 0,
    subjectClaim: 'sub',
    requireExp: true,
  },

  limits: {
    connectionsPerIp: { max: 30, windowMs: 60_000 },
    concurrentPerIp: 50,
    concurrentPerUser: 20,
    messages: { rate: 50, burst: 100 },
    bytes: { rate: 1_048_576, burst: 2_097_152 },
    user: { rate: 100, burst: 200 },
    types: {},
    /** TypeLimit.cost */
    typeCost: 1,
    authFailures: { max: 10, windowMs: 300_000, blockMs: 900_000 },
    penalties: {
      strikes: 20,
      strikeWindowMs: 10_000,
      blockMs: 30_000,
      factor: 2,
      maxBlockMs: 3_600_000,
      banAfter: 5,
      offenceWindowMs: 86_400_000,
      banMs: 86_400_000,
      blockIp: true,
    },
  },

  anomaly: {
    weights: {
      validation: 2,
      csrf: 5,
      unknownType: 2,
      rateLimit: 1,
      oversized: 5,
      authFailure: 3,
      burst: 5,
      binary: 2,
      malformed: 2,
      unsafeJson: 5,
      forbidden: 1,
    },
    halfLifeMs: 60_000,
    thresholds: { warn: 10, disconnect: 25, block: 60 },
    burst: { factor: 10, min: 30 },
    scopeFactors: { user: 2, ip: 4 },
  },

  /** wss.ban(ip, options) */
  ban: { durationMs: 86_400_000, reason: 'manual' },
  /** wss.close(options) */
  close: { timeoutMs: 10_000 },

  /** Internal bounds, not options. */
  /** `refresh` per socket: two at once, then one per 10 s (a client refreshes once per expiry). */
  refresh: { rate: 0.1, burst: 2 },

  internal: {
    /** After the close grace of shutdown, sockets still open are terminated after this, ms. */
    shutdownTerminateMs: 2000,
    /** A slow reader closed 1013 is terminated if the close has not got through after this, ms. */
    overloadTerminateMs: 1000,
    /** Users whose recent message ids are remembered (dedupe), at most. */
    dedupeMaxUsers: 100_000,
    /** A leaked per-user socket count in the store expires after this, ms. */
    userSlotTtlMs: 24 * 3600_000,
    /** Revocations and bans waiting to be sent again to an unreachable store, at most... */
    revokeOutboxEntries: 10_000,
    /** ...and their bytes, at most. */
    revokeOutboxBytes: 4 * 1024 * 1024,
    /** Users and IPs with an anomaly score in this process, at most (each). */
    anomalyScopeEntries: 50_000,
    /** `error` replies naming no message, at most, a second per socket (connection/bare-errors.ts). */
    bareErrorsPerSecond: 10,
    /** The dedupe sweep runs at most this often, ms... */
    sweepMinMs: 1000,
    /** ...and at least this often, ms. */
    sweepMaxMs: 60_000,
  },
});

export type Defaults = typeof DEFAULTS;
