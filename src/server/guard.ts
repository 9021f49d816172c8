import { CloseCode, formatCloseReason } from '../protocol/index.js';
import { createTokenVerifier } from './auth/verifier.js';
import { Connection, type ConnectionHost } from './connection.js';
import { WsgConfigError, WsgError } from './errors.js';
import { createEventBus, createLogger, type EventBus } from './events.js';
import { createProxyTrust } from './gate/client-ip.js';
import { checkHeaders } from './gate/headers.js';
import { createGate, type GateDecision } from './gate/index.js';
import { createOriginCheck } from './gate/origin.js';
import { createTlsCheck } from './gate/tls.js';
import { randomId } from './ids.js';
import type { Handler, MessageSchemas, Principal, WsGuardOptions } from './options.js';
import { createCsrfStage } from './pipeline/csrf.js';
import { createDedupeCache } from './pipeline/dedupe.js';
import { readEnvelope } from './pipeline/envelope.js';
import { ackFrame, errorFrame, eventFrame } from './pipeline/frames.js';
import { createSafeParse } from './pipeline/parse.js';
import { createSchemaStage } from './pipeline/schema.js';
import type { MessageContext, Stage } from './pipeline/types.js';
import { createProtection } from './protection.js';
import type { GuardSocket, UpgradeRequest } from './socket.js';
import { memoryStore } from './stores/memory/index.js';
import type { Store } from './stores/types.js';

export interface CloseOptions {
  /** How long in-flight handlers may take before sockets are closed anyway. @default 10000 */
  timeoutMs?: number;
}

/** The transport-agnostic server: the `ws` adapter feeds it upgrades and sockets. */
export interface Guard {
  readonly path: string;
  readonly maxPayload: number;
  readonly perMessageDeflate: boolean;
  readonly events: EventBus;
  readonly store: Store;
  /** Decides an upgrade request; a refusal carries the HTTP status to answer. */
  admit(req: UpgradeRequest): Promise<GateDecision>;
  /** Takes over a socket the gate admitted. */
  open(socket: GuardSocket, decision: GateDecision & { ok: true }, req: UpgradeRequest): Connection;
  /** Sockets open now (authenticated or not). */
  readonly clients: number;
  /** Sends an application event to every authenticated socket. */
  broadcast(type: string, payload: unknown): void;
  /** Graceful: stop admitting, let in-flight handlers finish, close every socket with 1001. */
  close(options?: CloseOptions): Promise<void>;
  readonly closing: boolean;
}

const DEFAULTS = {
  path: '/ws',
  authTimeoutMs: 5000,
  maxPayload: 64 * 1024,
  maxDepth: 32,
  maxKeys: 2000,
  dedupeWindow: 1000,
  heartbeatMs: 30_000,
  sessionMaxAgeMs: 24 * 60 * 60 * 1000,
};

function positiveInt(name: string, value: number | undefined, fallback: number, min = 1): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < min)
    throw new WsgConfigError(`${name} must be an integer >= ${min}, got ${v}`);
  return v;
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

export function createGuard<M extends MessageSchemas>(options: WsGuardOptions<M>): Guard {
  const path = options.path ?? DEFAULTS.path;
  if (!path.startsWith('/')) throw new WsgConfigError(`path must start with '/', got ${path}`);
  const authTimeoutMs = positiveInt('authTimeoutMs', options.authTimeoutMs, DEFAULTS.authTimeoutMs);
  const maxPayload = positiveInt('maxPayload', options.maxPayload, DEFAULTS.maxPayload, 128);
  const heartbeatMs = positiveInt('heartbeatMs', options.heartbeatMs, DEFAULTS.heartbeatMs);
  const sessionMaxAgeMs = positiveInt('sessionMaxAgeMs', options.sessionMaxAgeMs, DEFAULTS.sessionMaxAgeMs);
  const dedupeWindow = positiveInt('dedupeWindow', options.dedupeWindow, DEFAULTS.dedupeWindow, 0);
  const messages: MessageSchemas = options.messages ?? {};
  const handlers = (options.handlers ?? {}) as Record<string, Handler | undefined>;
  for (const type of Object.keys(handlers)) {
    if (!Object.hasOwn(messages, type) && type !== options.binaryType) {
      throw new WsgConfigError(`handler '${type}' has no schema in options.messages`);
    }
  }
  for (const type of Object.keys(messages)) {
    if (
      !/^[A-Za-z][\w.:-]{0,63}$/.test(type) ||
      [
        'auth',
        'refresh',
        'ping',
        'pong',
        'ack',
        'error',
        'auth_ok',
        'refresh_ok',
        'session_expiring',
      ].includes(type)
    ) {
      throw new WsgConfigError(`message type '${type}' is reserved or not a valid name`);
    }
  }

  const store = options.store ?? memoryStore();
  const logger = createLogger(options.logger);
  const events = createEventBus(logger, options.onEvent);
  const verifier = createTokenVerifier(options.auth);
  const proxies = createProxyTrust(options.trustProxy ?? []);
  const originOk = createOriginCheck({
    allowedOrigins: options.allowedOrigins,
    requireOrigin: options.requireOrigin ?? options.allowedOrigins !== undefined,
  });
  const tlsOk = createTlsCheck(options.requireTls ?? process.env.NODE_ENV === 'production', proxies);

  const now = options.now ?? Date.now;
  const protection = createProtection({
    store,
    limits: options.limits,
    anomaly: options.anomaly,
    onAnomaly: options.onAnomaly,
    events,
    now,
  });

  const connections = new Set<Connection>();
  const authenticated = new Set<Connection>();
  let closing = false;

  const gate = createGate({
    clientIp: (req) => proxies.clientIp(req),
    verifier,
    allowQueryToken: options.allowQueryToken ?? false,
    onAuthFailure: (_req, ip) => {
      protection.authFailed(ip);
      return undefined;
    },
    checks: [
      () => (closing ? { code: 'WSG_OVERLOADED', detail: 'shutting down' } : undefined),
      ...protection.gateChecks,
      (req) => (checkHeaders(req) ? undefined : { code: 'WSG_BAD_REQUEST' }),
      (req) => (tlsOk(req) ? undefined : { code: 'WSG_TLS_REQUIRED' }),
      (req) =>
        originOk(req) ? undefined : { code: 'WSG_ORIGIN_FORBIDDEN', detail: String(req.headers.origin) },
    ],
  });

  const parse = createSafeParse({
    maxDepth: positiveInt('maxDepth', options.maxDepth, DEFAULTS.maxDepth),
    maxKeys: positiveInt('maxKeys', options.maxKeys, DEFAULTS.maxKeys),
  });
  const csrfExempt = [...(options.csrfExempt ?? [])];
  if (options.binaryType !== undefined) csrfExempt.push(options.binaryType);
  const appStages: Stage[] = [createSchemaStage(messages, options.binaryType)];
  const csrfStage = createCsrfStage({ enabled: options.csrf ?? true, exempt: csrfExempt });
  if (csrfStage) appStages.push(csrfStage);
  appStages.push(...protection.appStages);

  const dedupe = createDedupeCache({ window: dedupeWindow, ttlMs: 10 * 60_000, maxUsers: 100_000 });
  const sweep = setInterval(() => dedupe.sweep(Date.now()), 60_000);
  sweep.unref();

  let idle: (() => void) | undefined;
  const settle = () => {
    if (idle && [...connections].every((c) => c.inflight === 0)) idle();
  };

  const runHandler = (
    conn: Connection,
    m: MessageContext,
  ): Promise<string | undefined> | string | undefined => {
    const handler = handlers[m.type];
    const failed = (err: unknown) => {
      conn.event({
        event: 'handler.error',
        level: 'error',
        code: 'WSG_INTERNAL',
        detail: String((err as Error)?.stack ?? err),
      });
      return errorFrame('WSG_INTERNAL', m.id);
    };
    // Encoding the result can throw too (BigInt, cycles): that is the handler's error, not ours.
    const done = (result: unknown) => {
      if (m.id === undefined) return undefined;
      try {
        return ackFrame(m.id, result);
      } catch (err) {
        return failed(err);
      }
    };
    if (!handler) return done(undefined);
    let out: unknown;
    try {
      out = handler(conn.context, m.payload);
    } catch (err) {
      return failed(err);
    }
    if (!isThenable(out)) return done(out);
    return Promise.resolve(out).then(done, failed);
  };

  const host: ConnectionHost = {
    events,
    authTimeoutMs,
    binaryType: options.binaryType,
    parse,
    readEnvelope,
    frameStages: protection.frameStages,
    appStages,
    verify: verifier,
    async openSession(conn, principal: Principal) {
      const refused = await protection.admitUser(principal.id);
      if (refused)
        return new WsgError(
          refused.code,
          refused.retryAfterMs === undefined ? {} : { retryAfterMs: refused.retryAfterMs },
        );
      const noSlot = await protection.acquireUserSlot(conn);
      if (noSlot) return noSlot;
      const now = Date.now();
      const expiresAt = Math.min(principal.expiresAt ?? Number.POSITIVE_INFINITY, now + sessionMaxAgeMs);
      const sessionId = randomId(16);
      const csrfToken = randomId(32);
      const frame = JSON.stringify({
        type: 'auth_ok',
        sessionId,
        csrfToken,
        expiresAt,
        heartbeatMs,
        limits: { maxPayload },
      });
      return { sessionId, csrfToken, frame };
    },
    dispatch(conn, m) {
      if (m.id === undefined) return runHandler(conn, m);
      const userId = (conn.user as Principal).id;
      const seen = dedupe.get(userId, m.id);
      if (seen !== undefined) return seen;
      const reply = runHandler(conn, m);
      if (reply !== undefined) dedupe.set(userId, m.id, reply as string | Promise<string>);
      return reply;
    },
    async onRefresh(conn) {
      // Session refresh comes with the sessions feature; until then it is refused, not ignored.
      conn.reject(new WsgError('WSG_UNKNOWN_TYPE', { detail: 'refresh' }), undefined);
    },
    onAuthenticated(conn) {
      authenticated.add(conn);
    },
    onRejected(conn, error, m) {
      const e = error.code;
      protection.rejected(conn, e);
      const event =
        e === 'WSG_CSRF_INVALID'
          ? 'csrf.failure'
          : e === 'WSG_VALIDATION_FAILED'
            ? 'validation.failure'
            : 'message.rejected';
      if (e === 'WSG_AUTH_FAILED' || e === 'WSG_AUTH_REQUIRED') return;
      conn.event({
        event,
        level: 'warn',
        code: e,
        detail: m ? `${m.type}: ${String(error.detail ?? '')}` : error.detail,
      });
    },
    get closing() {
      return closing;
    },
    onSettled: () => settle(),
    onClosed(conn, code) {
      protection.closed(conn);
      connections.delete(conn);
      authenticated.delete(conn);
      conn.event({ event: 'connection.closed', level: 'info', closeCode: code });
      settle();
    },
    broadcast(type, payload) {
      const frame = eventFrame(type, payload);
      for (const c of authenticated) c.sendFrame(frame);
    },
  };

  return {
    path,
    maxPayload,
    perMessageDeflate: options.perMessageDeflate ?? false,
    events,
    store,
    admit: async (req) => {
      let decision = await gate(req);
      if (decision.ok && decision.principal) {
        const refused = await protection.admitUser(decision.principal.id);
        if (refused) decision = { ok: false, ip: decision.ip, rejection: refused };
      }
      if (!decision.ok) {
        const { code, detail } = decision.rejection;
        events.emit({
          event:
            code === 'WSG_ORIGIN_FORBIDDEN'
              ? 'origin.rejected'
              : code === 'WSG_AUTH_FAILED'
                ? 'auth.failure'
                : 'connection.rejected',
          level: 'warn',
          ip: decision.ip,
          code,
          ...(detail !== undefined ? { detail } : {}),
        });
      }
      return decision;
    },
    open(socket, decision, req) {
      const conn = new Connection(socket, host, randomId(9), decision.ip);
      connections.add(conn);
      protection.opened(conn);
      conn.event({ event: 'connection.accepted', level: 'info' });
      conn.start(decision.principal, req);
      return conn;
    },
    get clients() {
      return connections.size;
    },
    get closing() {
      return closing;
    },
    broadcast: host.broadcast,
    async close(closeOptions = {}) {
      if (!closing) {
        closing = true;
        events.emit({ event: 'server.closing', level: 'info' });
      }
      clearInterval(sweep);
      const timeoutMs = closeOptions.timeoutMs ?? 10_000;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, timeoutMs);
        idle = () => {
          clearTimeout(timer);
          resolve();
        };
        settle();
      });
      idle = undefined;
      const reason = formatCloseReason('WSG_SHUTTING_DOWN');
      const open = [...connections];
      for (const c of open) c.closeSocket(CloseCode.GoingAway, reason);
      await new Promise<void>((resolve) => {
        if (connections.size === 0) return resolve();
        const timer = setTimeout(() => {
          for (const c of connections) c.socket.terminate();
          resolve();
        }, 2000);
        idle = () => {
          if (connections.size === 0) {
            clearTimeout(timer);
            resolve();
          }
        };
      });
      idle = undefined;
    },
  };
}
