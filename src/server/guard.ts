import { packageVersion } from '../package-root.js';
import { APP_TYPE_PATTERN, CloseCode, formatCloseReason, isReservedType } from '../protocol/index.js';
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
import { keys } from './limits/keys.js';
import { resolveBackpressure } from './monitor/backpressure.js';
import { createHttpHandler, type HttpHandler } from './monitor/http.js';
import { createMetrics } from './monitor/metrics.js';
import { closeLabel, countUp, createStatsCounters, type ServerStats } from './monitor/stats.js';
import type { Handler, MessageSchemas, WsGuardOptions } from './options.js';
import { createCsrfStage } from './pipeline/csrf.js';
import { createDedupeCache } from './pipeline/dedupe.js';
import { readEnvelope } from './pipeline/envelope.js';
import { ackFrame, errorFrame, eventFrame } from './pipeline/frames.js';
import { createSafeParse } from './pipeline/parse.js';
import { createSchemaStage } from './pipeline/schema.js';
import type { MessageContext, Stage } from './pipeline/types.js';
import { createProtection } from './protection.js';
import { resolveSessionOptions } from './session/options.js';
import { createSessionManager } from './session/sessions.js';
import type { GuardSocket, UpgradeRequest } from './socket.js';
import { memoryStore } from './stores/memory/index.js';
import type { Store } from './stores/types.js';

export interface BanOptions {
  /** How long the IP is refused. @default 86400000 (a day) */
  durationMs?: number;
  /** Why, for the security log. @default 'manual' */
  reason?: string;
}

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
  /** Sends an application event to every authenticated socket, on every node sharing the store. */
  broadcast(type: string, payload: unknown): void;
  /** Closes the session's sockets with 4403 everywhere; it cannot come back until it would have expired. */
  revokeSession(sessionId: string): Promise<void>;
  /** Closes the user's sockets with 4403 everywhere; tokens issued before now are refused. */
  revokeUser(userId: string): Promise<void>;
  ban(ip: string, options?: BanOptions): Promise<void>;
  stats(): ServerStats;
  /** Answers /healthz and /metrics; true when it answered. */
  httpHandler: HttpHandler;
  readonly httpMount: boolean;
  /** Graceful: stop admitting, let in-flight handlers finish, close every socket with 1001. */
  close(options?: CloseOptions): Promise<void>;
  readonly closing: boolean;
}

const DEFAULTS = {
  path: '/ws',
  authTimeoutMs: 5000,
  handlerTimeoutMs: 30_000,
  maxPayload: 64 * 1024,
  maxDepth: 32,
  maxKeys: 2000,
  dedupeWindow: 1000,
  dedupeTtlMs: 60_000,
  heartbeatMs: 30_000,
};

const CHANNEL_REVOKE = 'wsguard:revoke';
const CHANNEL_BROADCAST = 'wsguard:broadcast';

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
  const handlerTimeoutMs = positiveInt(
    'handlerTimeoutMs',
    options.handlerTimeoutMs,
    DEFAULTS.handlerTimeoutMs,
  );
  const maxPayload = positiveInt('maxPayload', options.maxPayload, DEFAULTS.maxPayload, 128);
  const heartbeatMs = positiveInt('heartbeatMs', options.heartbeatMs, DEFAULTS.heartbeatMs);
  const dedupeWindow = positiveInt('dedupeWindow', options.dedupeWindow, DEFAULTS.dedupeWindow, 0);
  const dedupeTtlMs = positiveInt('dedupeTtlMs', options.dedupeTtlMs, DEFAULTS.dedupeTtlMs);
  const sessionOptions = resolveSessionOptions(options.session);
  const backpressure = resolveBackpressure(options.backpressure);
  const messages: MessageSchemas = options.messages ?? {};
  const handlers = (options.handlers ?? {}) as Record<string, Handler | undefined>;
  for (const type of Object.keys(handlers)) {
    if (!Object.hasOwn(messages, type) && type !== options.binaryType) {
      throw new WsgConfigError(`handler '${type}' has no schema in options.messages`);
    }
  }
  for (const type of Object.keys(messages)) {
    if (!APP_TYPE_PATTERN.test(type) || isReservedType(type)) {
      throw new WsgConfigError(`message type '${type}' is reserved or not a valid name`);
    }
  }

  const store = options.store ?? memoryStore();
  const logger = createLogger(options.logger);
  const events = createEventBus(logger, options.onEvent);
  const verifier = createTokenVerifier(options.auth);
  const proxies = createProxyTrust(options.trustProxy ?? [], (hop) =>
    events.emit({
      event: 'proxy.invalid_hop',
      level: 'warn',
      detail: `X-Forwarded-For entry skipped: ${hop}`,
    }),
  );
  const originOk = createOriginCheck({
    allowedOrigins: options.allowedOrigins,
    requireOrigin: options.requireOrigin ?? options.allowedOrigins !== undefined,
    allowedHosts: options.allowedHosts,
    production: process.env.NODE_ENV === 'production',
    proxies,
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
  const sessions = createSessionManager(store, sessionOptions, events, now);
  const counters = createStatsCounters(now);

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

  const dedupe = createDedupeCache({ window: dedupeWindow, ttlMs: dedupeTtlMs, maxUsers: 100_000 });

  let idle: (() => void) | undefined;
  const settle = () => {
    if (idle && [...connections].every((c) => c.inflight === 0)) idle();
  };

  const metrics = createMetrics(() => ({
    ...stats(),
    connections: counters.connections,
    penalties: counters.penalties,
    anomalies: counters.anomalies,
  }));

  // Made once, not per message: a handled message allocates no closures.
  const finished = (started: number) => {
    const ms = performance.now() - started;
    counters.recordLatency(ms);
    metrics.observeHandler(ms / 1000);
  };
  const failed = (conn: Connection, m: MessageContext, err: unknown) => {
    conn.event({
      event: 'handler.error',
      level: 'error',
      code: 'WSG_INTERNAL',
      detail: String((err as Error)?.stack ?? err),
    });
    return errorFrame('WSG_INTERNAL', m.id);
  };
  // Encoding the result can throw too (BigInt, cycles): that is the handler's error, not ours.
  const done = (conn: Connection, m: MessageContext, started: number, result: unknown) => {
    finished(started);
    if (m.id === undefined) return undefined;
    try {
      return ackFrame(m.id, result);
    } catch (err) {
      return failed(conn, m, err);
    }
  };
  const runHandler = (
    conn: Connection,
    m: MessageContext,
  ): Promise<string | undefined> | string | undefined => {
    const handler = handlers[m.type];
    const started = performance.now();
    if (!handler) return done(conn, m, started, undefined);
    let out: unknown;
    try {
      out = handler(conn.context, m.payload);
    } catch (err) {
      finished(started);
      return failed(conn, m, err);
    }
    if (!isThenable(out)) return done(conn, m, started, out);
    const result = Promise.resolve(out).then(
      (value) => done(conn, m, started, value),
      (err) => {
        finished(started);
        return failed(conn, m, err);
      },
    );
    return new Promise<string | undefined>((resolve) => {
      const timer = setTimeout(() => {
        conn.event({
          event: 'handler.error',
          level: 'error',
          code: 'WSG_HANDLER_TIMEOUT',
          detail: `${m.type}: no result within ${handlerTimeoutMs} ms`,
        });
        resolve(errorFrame('WSG_HANDLER_TIMEOUT', m.id));
      }, handlerTimeoutMs);
      timer.unref?.();
      // After the timeout this resolve is a no-op: the late result is dropped, its latency still counted.
      void result.then((frame) => {
        clearTimeout(timer);
        resolve(frame);
      });
    });
  };

  const sendLocal = (frame: string) => {
    for (const c of authenticated) c.sendFrame(frame);
  };
  const unsubscribeBroadcast = store.subscribe(CHANNEL_BROADCAST, sendLocal);
  const broadcast = (type: string, payload: unknown) => {
    void Promise.resolve(store.publish(CHANNEL_BROADCAST, eventFrame(type, payload))).catch((err) =>
      events.emit({
        event: 'handler.error',
        level: 'error',
        code: 'WSG_INTERNAL',
        detail: `broadcast: ${String(err)}`,
      }),
    );
  };

  const closeRevoked = (matches: (c: Connection) => boolean) => {
    for (const c of authenticated) {
      if (!matches(c)) continue;
      c.event({ event: 'session.revoked', level: 'warn', code: 'WSG_SESSION_REVOKED' });
      c.fail('WSG_SESSION_REVOKED');
    }
  };
  const unsubscribeRevoke = store.subscribe(CHANNEL_REVOKE, (message) => {
    try {
      const { kind, id, until, reason } = JSON.parse(message) as {
        kind: 'session' | 'user' | 'ip';
        id: string;
        until?: number;
        reason?: string;
      };
      // Recorded here as well (the store keeps a local copy), so this node still refuses them
      // if the shared store goes away.
      const remember = (write: () => unknown) => {
        if (typeof until === 'number' && until > now()) void Promise.resolve(write()).catch(() => {});
      };
      if (kind === 'session') {
        remember(() => store.revoke('session', id, until as number));
        closeRevoked((c) => c.sessionId === id);
      } else if (kind === 'ip') {
        remember(() =>
          store.setBlock(keys.ban(id), { until: until as number, level: 1, reason: reason ?? 'manual' }),
        );
        for (const c of connections) if (c.ip === id) c.fail('WSG_BANNED');
      } else if (kind === 'user') {
        remember(() => store.revoke('user', id, until as number));
        for (const c of authenticated) {
          if (c.user?.id === id && c.sessionId !== undefined) {
            void sessions
              .revokeSession({ id: c.sessionId, jti: c.user.jti, expiresAt: c.expiresAt })
              .catch(() => {});
          }
        }
        closeRevoked((c) => c.user?.id === id);
      }
    } catch {
      // Not ours: another publisher on the channel.
    }
  });

  // Revocations and bans published while this node could not hear them: check every socket
  // against the store once it answers again.
  const recheck = () => {
    for (const c of authenticated) {
      const user = c.user;
      if (!user) continue;
      void (async () => {
        const ban = await store.getBlock(keys.ban(c.ip));
        if (ban && ban.until > now()) return c.fail('WSG_BANNED');
        const session =
          c.sessionId === undefined ? undefined : await store.revokedUntil('session', c.sessionId);
        if (session !== undefined || (await sessions.revoked(user))) closeRevoked((x) => x === c);
      })().catch(() => {});
    }
  };
  const unsubscribeStatus = store.onStatus?.((status, detail) => {
    if (status === 'ok') recheck();
    events.emit(
      status === 'ok'
        ? { event: 'store.recovered', level: 'info', detail: `${store.kind} store reachable again` }
        : {
            event: 'store.degraded',
            level: 'error',
            code: 'WSG_OVERLOADED',
            detail: `${store.kind} store unreachable: ${detail ?? 'unknown'}`,
          },
    );
  });

  const sessionError = (conn: Connection, err: unknown) => {
    conn.event({
      event: 'handler.error',
      level: 'error',
      code: 'WSG_OVERLOADED',
      detail: `store: ${String(err)}`,
    });
    return new WsgError('WSG_OVERLOADED', { detail: 'store unavailable' });
  };

  const host: ConnectionHost = {
    events,
    authTimeoutMs,
    binaryType: options.binaryType,
    hardLimitBytes: backpressure.hardLimitBytes,
    received(data) {
      counters.messagesIn++;
      counters.bytesIn += typeof data === 'string' ? Buffer.byteLength(data) : data.length;
    },
    counted(frame) {
      counters.messagesOut++;
      counters.bytesOut += frame.length;
    },
    parse,
    readEnvelope,
    frameStages: protection.frameStages,
    appStages,
    verify: verifier,
    async openSession(conn, principal) {
      try {
        const refused = await protection.admitUser(principal.id);
        if (refused) {
          return new WsgError(
            refused.code,
            refused.retryAfterMs === undefined ? {} : { retryAfterMs: refused.retryAfterMs },
          );
        }
        const opened = await sessions.open(conn, principal);
        if (opened instanceof WsgError) return opened;
        const noSlot = await protection.acquireUserSlot(conn);
        if (noSlot) {
          sessions.close(conn);
          return noSlot;
        }
        const { record } = opened;
        const frame = JSON.stringify({
          type: 'auth_ok',
          sessionId: record.id,
          csrfToken: record.csrfToken,
          expiresAt: record.expiresAt,
          heartbeatMs,
          limits: { maxPayload },
        });
        return { sessionId: record.id, csrfToken: record.csrfToken, frame };
      } catch (err) {
        return sessionError(conn, err);
      }
    },
    dispatch(conn, m) {
      if (m.id === undefined) return runHandler(conn, m);
      const userId = (conn.user as { id: string }).id;
      const seen = dedupe.get(userId, m.id);
      if (seen !== undefined) return seen;
      const reply = runHandler(conn, m);
      if (reply !== undefined) dedupe.set(userId, m.id, reply as string | Promise<string>);
      return reply;
    },
    async onRefresh(conn, token) {
      const principal = await verifier(token, {
        url: path,
        method: 'GET',
        headers: {},
        remoteAddress: conn.ip,
        encrypted: false,
      });
      if (conn.state !== 'open') return;
      if (!principal) {
        conn.event({
          event: 'auth.failure',
          level: 'warn',
          code: 'WSG_AUTH_FAILED',
          detail: 'refresh token refused',
        });
        protection.rejected(conn, 'WSG_AUTH_FAILED');
        return conn.fail('WSG_AUTH_FAILED');
      }
      let result: Awaited<ReturnType<typeof sessions.refresh>>;
      try {
        result = await sessions.refresh(conn, principal);
      } catch (err) {
        result = sessionError(conn, err);
      }
      if (conn.state !== 'open') return;
      if (result instanceof WsgError) {
        conn.event({
          event: 'auth.failure',
          level: 'warn',
          code: result.code,
          detail: String(result.detail),
        });
        return conn.fail(result.code);
      }
      conn.sendFrame(
        JSON.stringify({ type: 'refresh_ok', expiresAt: result.expiresAt, csrfToken: result.csrfToken }),
      );
    },
    onAuthenticated(conn) {
      authenticated.add(conn);
    },
    abandon(conn) {
      protection.closed(conn);
      sessions.close(conn);
    },
    onRejected(conn, error, m) {
      const e = error.code;
      countUp(counters.rejections, e);
      protection.rejected(conn, e);
      if (e === 'WSG_AUTH_FAILED' || e === 'WSG_AUTH_REQUIRED') return;
      const event =
        e === 'WSG_CSRF_INVALID'
          ? 'csrf.failure'
          : e === 'WSG_VALIDATION_FAILED'
            ? 'validation.failure'
            : e === 'WSG_RATE_LIMITED'
              ? 'rate.limited'
              : 'message.rejected';
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
      sessions.close(conn);
      connections.delete(conn);
      authenticated.delete(conn);
      countUp(counters.closes, closeLabel(code));
      conn.event({ event: 'connection.closed', level: 'info', closeCode: code });
      settle();
    },
    broadcast,
  };

  events.subscribe((e) => {
    if (e.event === 'penalty.blocked') {
      counters.penalties++;
      const d = e.detail as { blockMs?: number; banMs?: number } | undefined;
      const ms = d?.blockMs ?? d?.banMs;
      if (ms !== undefined) counters.blocks.set(`${e.code}:${e.userId ?? ''}:${e.ip ?? ''}`, now() + ms);
    } else if (e.event === 'anomaly.flagged') counters.anomalies++;
  });

  // One timer for every socket: heartbeats, session expiry and idle time, slow readers.
  let lastPing = now();
  const tickMs = Math.min(sessionOptions.checkIntervalMs, heartbeatMs);
  const tick = setInterval(() => {
    const t = now();
    const ping = t - lastPing >= heartbeatMs;
    if (ping) lastPing = t;
    for (const c of connections) {
      if (ping) {
        if (!c.alive) {
          c.event({ event: 'connection.closed', level: 'warn', detail: 'missed heartbeat' });
          c.socket.terminate();
          continue;
        }
        c.alive = false;
        c.socket.ping();
      }
      if (c.socket.bufferedAmount > backpressure.maxBufferedBytes) {
        c.overSince ??= t;
        if (t - c.overSince >= backpressure.graceMs) c.overloaded();
      } else c.overSince = undefined;
      if (c.state !== 'open') continue;
      const due = sessions.due(c, t);
      if (due === 'expiring') {
        c.expiringSent = true;
        c.sendFrame(`{"type":"session_expiring","expiresAt":${c.expiresAt}}`);
      } else if (due === 'expired' || due === 'idle') {
        c.event({ event: 'session.expired', level: 'info', code: 'WSG_SESSION_EXPIRED', detail: due });
        c.fail('WSG_SESSION_EXPIRED');
      }
    }
  }, tickMs);
  tick.unref();
  // Often enough that an expired message id is gone within a quarter of its TTL.
  const sweep = setInterval(
    () => {
      dedupe.sweep(Date.now());
      const t = now();
      for (const [k, until] of counters.blocks) if (until <= t) counters.blocks.delete(k);
    },
    Math.min(60_000, Math.max(1000, Math.floor(dedupeTtlMs / 4))),
  );
  sweep.unref();

  const stats = (): ServerStats => {
    const t = now();
    let activeBlocks = 0;
    for (const until of counters.blocks.values()) if (until > t) activeBlocks++;
    return {
      socketsOpen: connections.size,
      socketsAuthenticated: authenticated.size,
      messagesIn: counters.messagesIn,
      messagesOut: counters.messagesOut,
      bytesIn: counters.bytesIn,
      bytesOut: counters.bytesOut,
      rejections: Object.fromEntries(counters.rejections),
      closes: Object.fromEntries([...counters.closes].map(([k, v]) => [String(k), v])),
      activeBlocks,
      handlerLatencyMs: counters.latency(),
      uptimeMs: t - counters.startedAt,
    };
  };

  const decide = async (req: UpgradeRequest): Promise<GateDecision> => {
    const decision = await gate(req);
    if (!decision.ok || !decision.principal) return decision;
    const refused =
      (await protection.admitUser(decision.principal.id)) ??
      ((await sessions.revoked(decision.principal)) ? { code: 'WSG_SESSION_REVOKED' as const } : undefined);
    return refused ? { ok: false, ip: decision.ip, rejection: refused } : decision;
  };

  /**
   * The gate's checks (a slow verifier, a stalled store) may not hold the upgrade's socket
   * longer than a client may take to authenticate: past that it is refused 503.
   */
  const withinAuthTimeout = (decided: Promise<GateDecision>, req: UpgradeRequest) =>
    new Promise<GateDecision>((resolve) => {
      const timer = setTimeout(
        () =>
          resolve({
            ok: false,
            ip: proxies.clientIp(req),
            rejection: { code: 'WSG_OVERLOADED', detail: `upgrade not decided within ${authTimeoutMs} ms` },
          }),
        authTimeoutMs,
      );
      timer.unref?.();
      decided.then(
        (d) => {
          clearTimeout(timer);
          resolve(d);
        },
        (err: unknown) => {
          clearTimeout(timer);
          // Only the store can fail here (fail mode 'closed'): without shared state, no one gets in.
          resolve({
            ok: false,
            ip: proxies.clientIp(req),
            rejection: {
              code: 'WSG_OVERLOADED',
              detail: err instanceof WsgError ? String(err.detail) : String(err),
            },
          });
        },
      );
    });

  const version = packageVersion();
  const httpHandler = createHttpHandler({
    options: options.http ?? {},
    health: () => {
      const storeStatus = store.status();
      return {
        status: closing ? 'closing' : storeStatus === 'ok' ? 'ok' : 'degraded',
        sockets: { open: connections.size, authenticated: authenticated.size },
        store: { kind: store.kind, status: storeStatus },
        version,
        uptimeMs: now() - counters.startedAt,
      };
    },
    metrics: () => metrics.render(),
    metricsContentType: metrics.contentType,
  });

  return {
    path,
    maxPayload,
    perMessageDeflate: options.perMessageDeflate ?? false,
    events,
    store,
    httpHandler,
    httpMount: options.http?.mount ?? true,
    stats,
    admit: async (req) => {
      const decision = await withinAuthTimeout(decide(req), req);
      if (!decision.ok) {
        const { code, detail } = decision.rejection;
        countUp(counters.rejections, code);
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
      counters.connections++;
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
    broadcast,
    async revokeSession(sessionId) {
      const record = (await store.getSession(sessionId)) ?? {
        id: sessionId,
        expiresAt: now() + sessionOptions.maxAgeMs,
      };
      await sessions.revokeSession(record);
      await store.publish(
        CHANNEL_REVOKE,
        JSON.stringify({ kind: 'session', id: sessionId, until: record.expiresAt }),
      );
    },
    async revokeUser(userId) {
      const until = await sessions.revokeUser(userId);
      await store.publish(CHANNEL_REVOKE, JSON.stringify({ kind: 'user', id: userId, until }));
    },
    async ban(ip, banOptions = {}) {
      const durationMs = banOptions.durationMs ?? 86_400_000;
      if (!(durationMs > 0)) throw new WsgConfigError('ban durationMs must be a positive number');
      const reason = banOptions.reason ?? 'manual';
      const block = { until: now() + durationMs, level: 1, reason };
      await store.setBlock(keys.ban(ip), block);
      events.emit({
        event: 'penalty.blocked',
        level: 'warn',
        ip,
        code: 'WSG_BANNED',
        // banMs, as the penalty ladder's bans say it, so stats() lists this ban with theirs.
        detail: { banMs: durationMs, reason },
      });
      await store.publish(CHANNEL_REVOKE, JSON.stringify({ kind: 'ip', id: ip, until: block.until, reason }));
    },
    async close(closeOptions = {}) {
      if (!closing) {
        closing = true;
        events.emit({ event: 'server.closing', level: 'info' });
      }
      clearInterval(tick);
      clearInterval(sweep);
      unsubscribeBroadcast();
      unsubscribeRevoke();
      unsubscribeStatus?.();
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
      for (const c of [...connections]) c.closeSocket(CloseCode.GoingAway, reason);
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
