import { APP_TYPE_PATTERN, isReservedType } from '../protocol/index.js';
import type { AnomalyOptions, AnomalySignal, ResolvedAnomaly } from './anomaly/index.js';
import { applyAuthorize } from './authorization.js';
import { DEFAULTS } from './defaults.js';
import { type ConfigErrorCode, WsgConfigError } from './errors.js';
import type {
  LimitsOptions,
  ResolvedLimits,
  ResolvedPenalties,
  TypeLimit,
  WindowLimit,
} from './limits/options.js';
import type { BucketRate } from './limits/token-bucket.js';
import type { BackpressureOptions, ResolvedBackpressure } from './monitor/backpressure.js';
import type { HttpEndpointsOptions } from './monitor/http.js';
import type { Handler, MessageSchemas, Principal, WsGuardOptions } from './options.js';
import type { ResolvedSessionOptions, SessionOptions } from './session/options.js';

export { DEFAULTS };

/** The options after defaults and checks: read-only, every value present. */
export interface ResolvedConfig {
  readonly path: string;
  readonly authTimeoutMs: number;
  readonly handlerTimeoutMs: number;
  readonly maxPayload: number;
  readonly preAuthMaxPayload: number;
  readonly maxDepth: number;
  readonly maxKeys: number;
  readonly dedupeWindow: number;
  readonly dedupeTtlMs: number;
  readonly dedupeUserBytes: number;
  readonly dedupeTotalBytes: number;
  readonly dedupeMaxResultBytes: number;
  readonly heartbeatMs: number;
  readonly perMessageDeflate: boolean;
  readonly csrf: boolean;
  /** `csrfExempt`, plus the binary type (a binary frame cannot carry a token). */
  readonly csrfExempt: readonly string[];
  readonly allowQueryToken: boolean;
  readonly allowedOrigins: readonly string[] | undefined;
  /** Explicit, or in production derived from allowedOrigins; undefined: any Host. */
  readonly allowedHosts: readonly string[] | undefined;
  readonly requireOrigin: boolean;
  readonly requireTls: boolean;
  readonly trustProxy: readonly string[];
  readonly binaryType: string | undefined;
  readonly messages: MessageSchemas;
  readonly handlers: Readonly<Record<string, Handler | undefined>>;
  readonly session: Readonly<ResolvedSessionOptions>;
  readonly backpressure: Readonly<ResolvedBackpressure>;
  readonly limits: Readonly<ResolvedLimits> | false;
  readonly anomaly: Readonly<ResolvedAnomaly> | false;
  readonly http: Readonly<HttpEndpointsOptions> & { readonly mount: boolean };
}

function fail(code: ConfigErrorCode, message: string): never {
  throw new WsgConfigError(code, message);
}

/** Not a type guard on purpose: narrowing the typed options to a record would lose their types. */
const isObject = (v: unknown): boolean => typeof v === 'object' && v !== null && !Array.isArray(v);

function int(name: string, value: number | undefined, fallback: number, min = 1): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < min)
    fail('WSG_CONFIG_INVALID_NUMBER', `${name} must be an integer >= ${min}, got ${v}`);
  return v;
}

function bool(
  name: string,
  value: unknown,
  fallback: boolean,
  code: ConfigErrorCode = 'WSG_CONFIG_INVALID_TYPE',
): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') fail(code, `${name} must be true or false, got ${String(value)}`);
  return value;
}

function strings(name: string, value: unknown): string[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || !value.every((s) => typeof s === 'string'))
    fail('WSG_CONFIG_INVALID_TYPE', `${name} must be a list of strings`);
  return [...value];
}

function fn(name: string, value: unknown): void {
  if (value !== undefined && typeof value !== 'function')
    fail('WSG_CONFIG_INVALID_TYPE', `${name} must be a function`);
}

/** A positive finite number (a duration, a rate, a factor). */
function positive(code: ConfigErrorCode, name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0)
    fail(code, `${name} must be a positive number, got ${String(v)}`);
  return v;
}

function count(code: ConfigErrorCode, name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1)
    fail(code, `${name} must be an integer >= 1, got ${String(v)}`);
  return v;
}

function appType(name: string, type: string): void {
  if (!APP_TYPE_PATTERN.test(type) || isReservedType(type))
    fail('WSG_CONFIG_INVALID_MESSAGE_TYPE', `${name} '${type}' is reserved or not a valid name`);
}

// ---- limits ----

function rate(name: string, r: BucketRate | false): BucketRate | false {
  if (r === false) return false;
  if (
    !isObject(r) ||
    !(r.rate > 0) ||
    !(r.burst >= 1) ||
    !Number.isFinite(r.rate) ||
    !Number.isFinite(r.burst)
  )
    fail('WSG_CONFIG_INVALID_LIMIT', `limits.${name} needs rate > 0 and burst >= 1`);
  return { rate: r.rate, burst: r.burst };
}

function window(name: string, w: WindowLimit | false): WindowLimit | false {
  if (w === false) return false;
  if (!isObject(w)) fail('WSG_CONFIG_INVALID_LIMIT', `limits.${name} must be { max, windowMs } or false`);
  return {
    max: count('WSG_CONFIG_INVALID_LIMIT', `limits.${name}.max`, w.max),
    windowMs: positive('WSG_CONFIG_INVALID_LIMIT', `limits.${name}.windowMs`, w.windowMs),
  };
}

function concurrent(name: string, v: number | false): number | false {
  return v === false ? false : count('WSG_CONFIG_INVALID_LIMIT', `limits.${name}`, v);
}

function penalties(o: LimitsOptions['penalties']): ResolvedPenalties | false {
  if (o === false) return false;
  if (o !== undefined && !isObject(o))
    fail('WSG_CONFIG_INVALID_PENALTY', 'limits.penalties must be an object or false');
  const p = { ...DEFAULTS.limits.penalties, ...(o ?? {}) };
  const c = 'WSG_CONFIG_INVALID_PENALTY';
  const r: ResolvedPenalties = {
    strikes: count(c, 'limits.penalties.strikes', p.strikes),
    strikeWindowMs: positive(c, 'limits.penalties.strikeWindowMs', p.strikeWindowMs),
    blockMs: positive(c, 'limits.penalties.blockMs', p.blockMs),
    factor: positive(c, 'limits.penalties.factor', p.factor),
    maxBlockMs: positive(c, 'limits.penalties.maxBlockMs', p.maxBlockMs),
    banAfter: count(c, 'limits.penalties.banAfter', p.banAfter),
    offenceWindowMs: positive(c, 'limits.penalties.offenceWindowMs', p.offenceWindowMs),
    banMs: positive(c, 'limits.penalties.banMs', p.banMs),
    blockIp: bool('limits.penalties.blockIp', p.blockIp, true, c),
  };
  if (r.factor < 1) fail(c, `limits.penalties.factor must be >= 1 (blocks never shorten), got ${r.factor}`);
  return r;
}

/** Fills in defaults and checks every layer; `false` switches every layer off. */
export function resolveLimits(options: LimitsOptions | false | undefined): ResolvedLimits | false {
  if (options === false) return false;
  if (options !== undefined && !isObject(options))
    fail('WSG_CONFIG_INVALID_LIMIT', 'limits must be an object or false');
  const o = options ?? {};
  const d = DEFAULTS.limits;
  const types: Record<string, TypeLimit> = {};
  for (const [type, limit] of Object.entries(o.types ?? {})) {
    const r = rate(`types.${type}`, limit) as BucketRate;
    const cost =
      limit.cost === undefined
        ? d.typeCost
        : positive('WSG_CONFIG_INVALID_LIMIT', `limits.types.${type}.cost`, limit.cost);
    types[type] = { ...r, cost };
  }
  const auth = o.authFailures ?? d.authFailures;
  let authFailures: ResolvedLimits['authFailures'] = false;
  if (auth !== false) {
    const w = window('authFailures', auth) as WindowLimit;
    authFailures = {
      ...w,
      blockMs: positive('WSG_CONFIG_INVALID_LIMIT', 'limits.authFailures.blockMs', auth.blockMs),
    };
  }
  return {
    connectionsPerIp: window('connectionsPerIp', o.connectionsPerIp ?? d.connectionsPerIp),
    concurrentPerIp: concurrent('concurrentPerIp', o.concurrentPerIp ?? d.concurrentPerIp),
    concurrentPerUser: concurrent('concurrentPerUser', o.concurrentPerUser ?? d.concurrentPerUser),
    messages: rate('messages', o.messages ?? d.messages),
    bytes: rate('bytes', o.bytes ?? d.bytes),
    user: rate('user', o.user ?? d.user),
    types,
    authFailures,
    penalties: penalties(o.penalties),
  };
}

// ---- the other groups ----

export function resolveSessionOptions(o: SessionOptions = {}): ResolvedSessionOptions {
  const d = DEFAULTS.session;
  const c = 'WSG_CONFIG_INVALID_SESSION';
  return {
    maxAgeMs: positive(c, 'session.maxAgeMs', o.maxAgeMs ?? d.maxAgeMs),
    idleTimeoutMs: positive(c, 'session.idleTimeoutMs', o.idleTimeoutMs ?? d.idleTimeoutMs),
    refreshWindowMs: positive(c, 'session.refreshWindowMs', o.refreshWindowMs ?? d.refreshWindowMs),
    rotateCsrfOnRefresh: bool('session.rotateCsrfOnRefresh', o.rotateCsrfOnRefresh, d.rotateCsrfOnRefresh, c),
    checkIntervalMs: positive(c, 'session.checkIntervalMs', o.checkIntervalMs ?? d.checkIntervalMs),
  };
}

export function resolveBackpressure(o: BackpressureOptions = {}): ResolvedBackpressure {
  const d = DEFAULTS.backpressure;
  const maxBufferedBytes = o.maxBufferedBytes ?? d.maxBufferedBytes;
  const r = {
    maxBufferedBytes,
    graceMs: o.graceMs ?? d.graceMs,
    hardLimitBytes: o.hardLimitBytes ?? maxBufferedBytes * d.hardLimitFactor,
  };
  if (!(r.maxBufferedBytes > 0 && r.graceMs >= 0 && r.hardLimitBytes >= r.maxBufferedBytes)) {
    fail(
      'WSG_CONFIG_INVALID_BACKPRESSURE',
      'backpressure needs maxBufferedBytes > 0, graceMs >= 0, hardLimitBytes >= maxBufferedBytes',
    );
  }
  return r;
}

export function resolveAnomaly(o: AnomalyOptions | false | undefined): ResolvedAnomaly | false {
  if (o === false) return false;
  const d = DEFAULTS.anomaly;
  const c = 'WSG_CONFIG_INVALID_ANOMALY';
  if (o !== undefined && !isObject(o)) fail(c, 'anomaly must be an object or false');
  const opts = o ?? {};
  const weights = { ...d.weights };
  for (const [signal, w] of Object.entries(opts.weights ?? {})) {
    if (!Object.hasOwn(d.weights, signal)) fail(c, `anomaly.weights.${signal} is not a signal`);
    if (typeof w !== 'number' || !Number.isFinite(w) || w < 0)
      fail(c, `anomaly.weights.${signal} must be a number >= 0`);
    weights[signal as AnomalySignal] = w;
  }
  const t = { ...d.thresholds, ...(opts.thresholds ?? {}) };
  const halfLifeMs = opts.halfLifeMs ?? d.halfLifeMs;
  if (!(t.warn < t.disconnect && t.disconnect < t.block) || !(halfLifeMs > 0)) {
    fail(c, 'anomaly thresholds must rise warn < disconnect < block, and halfLifeMs > 0');
  }
  const burst = opts.burst ?? d.burst;
  if (!isObject(burst) || !(burst.factor > 0) || !(burst.min >= 0))
    fail(c, 'anomaly.burst needs factor > 0 and min >= 0');
  const scopeFactors = { ...d.scopeFactors, ...(opts.scopeFactors ?? {}) };
  if (!(scopeFactors.user > 0 && scopeFactors.ip > 0)) fail(c, 'anomaly.scopeFactors must be positive');
  return {
    weights,
    halfLifeMs,
    thresholds: t,
    burst: { factor: burst.factor, min: burst.min },
    scopeFactors,
  };
}

/**
 * allowedHosts as given; in production without it, the hosts of allowedOrigins, and neither set
 * is a setup error: an endpoint that takes any Host can be reached by DNS rebinding.
 */
export function resolveAllowedHosts(
  hosts: string[] | undefined,
  origins: string[] | undefined,
): string[] | undefined {
  if (hosts !== undefined || process.env.NODE_ENV !== 'production') return hosts;
  if (origins === undefined) {
    fail(
      'WSG_CONFIG_NO_ALLOWED_HOSTS',
      'in production set allowedHosts (the host names clients connect to) or allowedOrigins',
    );
  }
  return origins.map((o) => {
    try {
      return new URL(o).host;
    } catch {
      return fail('WSG_CONFIG_INVALID_TYPE', `allowedOrigins entry is not an origin: ${o}`);
    }
  });
}

function resolveHttp(o: HttpEndpointsOptions | undefined): ResolvedConfig['http'] {
  const d = DEFAULTS.http;
  const h = o ?? {};
  for (const k of ['healthPath', 'metricsPath'] as const) {
    const p = h[k];
    if (p !== undefined && p !== false && (typeof p !== 'string' || !p.startsWith('/')))
      fail('WSG_CONFIG_INVALID_PATH', `http.${k} must start with '/' or be false, got ${String(p)}`);
  }
  if (h.metricsToken !== undefined && (typeof h.metricsToken !== 'string' || h.metricsToken.length === 0))
    fail('WSG_CONFIG_INVALID_TYPE', 'http.metricsToken must be a non-empty string');
  return {
    healthPath: h.healthPath ?? d.healthPath,
    metricsPath: h.metricsPath ?? d.metricsPath,
    ...(h.metricsToken !== undefined ? { metricsToken: h.metricsToken } : {}),
    mount: bool('http.mount', h.mount, d.mount),
    rateLimit: h.rateLimit === undefined ? { ...d.rateLimit } : h.rateLimit,
  };
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/**
 * Every option checked once, at setup: a mistake throws a WsgConfigError with a stable code now,
 * not on the first message. Auth, trustProxy entries and schemas are checked where they are
 * compiled (auth/, gate/client-ip.ts, pipeline/schema.ts), also at setup.
 */
export function resolveConfig<M extends MessageSchemas, U extends Principal<object>>(
  options: WsGuardOptions<M, U>,
): ResolvedConfig {
  const d = DEFAULTS;
  const path = options.path ?? d.path;
  if (typeof path !== 'string' || !path.startsWith('/'))
    fail('WSG_CONFIG_INVALID_PATH', `path must start with '/', got ${String(path)}`);
  const messages: MessageSchemas = options.messages ?? {};
  const handlers = (options.handlers ?? {}) as Record<string, Handler | undefined>;
  if (!isObject(messages)) fail('WSG_CONFIG_INVALID_TYPE', 'messages must be an object of schemas');
  if (!isObject(handlers)) fail('WSG_CONFIG_INVALID_TYPE', 'handlers must be an object of functions');
  for (const [type, handler] of Object.entries(handlers)) {
    if (!Object.hasOwn(messages, type) && type !== options.binaryType) {
      fail('WSG_CONFIG_HANDLER_WITHOUT_SCHEMA', `handler '${type}' has no schema in options.messages`);
    }
    fn(`handlers.${type}`, handler);
  }
  for (const type of Object.keys(messages)) appType('message type', type);
  if (options.binaryType !== undefined) appType('binaryType', options.binaryType);
  for (const k of ['now', 'onEvent', 'onAnomaly'] as const) fn(k, options[k]);

  const csrfExempt = strings('csrfExempt', options.csrfExempt) ?? [...d.csrfExempt];
  if (options.binaryType !== undefined) csrfExempt.push(options.binaryType);
  const allowedOrigins = strings('allowedOrigins', options.allowedOrigins);

  return deepFreeze({
    path,
    authTimeoutMs: int('authTimeoutMs', options.authTimeoutMs, d.authTimeoutMs),
    handlerTimeoutMs: int('handlerTimeoutMs', options.handlerTimeoutMs, d.handlerTimeoutMs),
    maxPayload: int('maxPayload', options.maxPayload, d.maxPayload, 128),
    preAuthMaxPayload: int('preAuthMaxPayload', options.preAuthMaxPayload, d.preAuthMaxPayload, 128),
    maxDepth: int('maxDepth', options.maxDepth, d.maxDepth),
    maxKeys: int('maxKeys', options.maxKeys, d.maxKeys),
    dedupeWindow: int('dedupeWindow', options.dedupeWindow, d.dedupeWindow, 0),
    dedupeTtlMs: int('dedupeTtlMs', options.dedupeTtlMs, d.dedupeTtlMs),
    dedupeUserBytes: int('dedupeUserBytes', options.dedupeUserBytes, d.dedupeUserBytes, 0),
    dedupeTotalBytes: int('dedupeTotalBytes', options.dedupeTotalBytes, d.dedupeTotalBytes, 0),
    dedupeMaxResultBytes: int(
      'dedupeMaxResultBytes',
      options.dedupeMaxResultBytes,
      d.dedupeMaxResultBytes,
      0,
    ),
    heartbeatMs: int('heartbeatMs', options.heartbeatMs, d.heartbeatMs),
    perMessageDeflate: bool('perMessageDeflate', options.perMessageDeflate, d.perMessageDeflate),
    csrf: bool('csrf', options.csrf, d.csrf),
    csrfExempt,
    allowQueryToken: bool('allowQueryToken', options.allowQueryToken, d.allowQueryToken),
    allowedOrigins,
    allowedHosts: resolveAllowedHosts(strings('allowedHosts', options.allowedHosts), allowedOrigins),
    requireOrigin: bool('requireOrigin', options.requireOrigin, allowedOrigins !== undefined),
    requireTls: bool('requireTls', options.requireTls, process.env.NODE_ENV === 'production'),
    trustProxy: strings('trustProxy', options.trustProxy) ?? [...d.trustProxy],
    binaryType: options.binaryType,
    // Shallow copies: the schemas and handlers themselves are the application's objects.
    messages: Object.freeze({ ...messages }),
    handlers: Object.freeze(applyAuthorize(handlers, messages, options.authorize)),
    session: resolveSessionOptions(options.session),
    backpressure: resolveBackpressure(options.backpressure),
    limits: resolveLimits(options.limits),
    anomaly: resolveAnomaly(options.anomaly),
    http: resolveHttp(options.http),
  }) as ResolvedConfig;
}
