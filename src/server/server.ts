import { APP_TYPE_PATTERN, isReservedType } from '../protocol/index.js';
import { createAdmission } from './admission.js';
import { createTokenVerifier } from './auth/verifier.js';
import { createBroadcast } from './broadcast.js';
import { type ChannelStats, createChannels, type UnsubscribeOptions } from './channels/index.js';
import { resolveConfig } from './config.js';
import { createConnectionHost } from './connection/host.js';
import { createSockets } from './connection/registry.js';
import { Connection } from './connection.js';
import { DEFAULTS } from './defaults.js';
import { createDispatcher } from './dispatch.js';
import { WsgConfigError } from './errors.js';
import { createEventBus, createLogger, type EventBus, type EventListener } from './events.js';
import type { GateDecision } from './gate/index.js';
import { randomId } from './ids.js';
import { announceLimits } from './limits/announce.js';
import type { HttpHandler } from './monitor/http.js';
import { createMonitoring } from './monitor/monitoring.js';
import { countUp, type ServerStats, sweepBlocks } from './monitor/stats.js';
import type { MessageSchemas, Principal, WsGuardOptions } from './options.js';
import { createCsrfStage } from './pipeline/csrf.js';
import { createEnvelopeReader } from './pipeline/envelope.js';
import { eventFrame } from './pipeline/frames.js';
import { createSafeParse } from './pipeline/parse.js';
import { createSchemaStage } from './pipeline/schema.js';
import type { Stage } from './pipeline/types.js';
import { createProtection } from './protection.js';
import { createRejectionHandler } from './rejections.js';
import { createSessionOpener } from './session/open.js';
import { createRefresher } from './session/refresh.js';
import { type BanOptions, createRevocation } from './session/revocation.js';
import { createSessionManager } from './session/sessions.js';
import { drainAndClose } from './shutdown.js';
import type { GuardSocket, UpgradeRequest } from './socket.js';
import { memoryStore } from './stores/memory/index.js';
import type { Store } from './stores/types.js';
import { startTicker } from './ticker.js';

export type { BanOptions };

export interface CloseOptions {
  /** How long in-flight handlers may take before sockets are closed anyway. @default 10000 */
  timeoutMs?: number;
}

/**
 * The live endpoint (what setupWebSockets returns). Transport-agnostic: an adapter
 * (adapters/ws.ts) feeds it upgrades through `admit` and sockets through `open`.
 */
export interface WsGuardServer {
  /** Sockets open now (authenticated or not). */
  readonly clients: number;
  /** Sends an application event to every authenticated socket, on every node sharing the store. */
  broadcast(type: string, payload: unknown): void;
  /**
   * Publishes `{"type":"publication","channel","event","payload"}` on a declared channel, to its
   * subscribers on every node sharing the store (from an HTTP route, a job, ...). Rejects with a
   * WsgError `WSG_UNKNOWN_CHANNEL` for a name no pattern declares.
   */
  publish(channel: string, event: string, payload: unknown): Promise<void>;
  /** Sends `{"type","payload"}` to every socket of the user, on every node. */
  sendToUser(userId: string, type: string, payload: unknown): Promise<void>;
  /**
   * Drops the channel's subscriptions on every node (only the user's, with `userId`); each
   * socket gets `{"type":"unsubscribed","channel","code":"WSG_FORBIDDEN"}`.
   */
  unsubscribe(channel: string, options?: UnsubscribeOptions): Promise<void>;
  /** Channels with subscribers on this process, subscriptions, busiest channels, deliveries. */
  channels(): ChannelStats;
  /** Closes the session's sockets with 4403 everywhere; it cannot come back until it would have expired. */
  revokeSession(sessionId: string): Promise<void>;
  /** Closes the user's sockets with 4403 everywhere; tokens issued before now are refused. */
  revokeUser(userId: string): Promise<void>;
  /**
   * Bans an IP: its sockets close with 4403 `WSG_BANNED` on every node sharing the store, and
   * new upgrades from it get 403 until the ban ends.
   */
  ban(ip: string, options?: BanOptions): Promise<void>;
  /** Live figures: sockets, messages, bytes, refusals and closes by code, blocks, handler latency. */
  stats(): ServerStats;
  /** Answers /healthz and /metrics (true when it answered); mounted for you unless `http.mount: false`. */
  httpHandler: HttpHandler;
  /** Listens to security events (for metrics or alerting); returns the unsubscribe function. */
  onEvent(listener: EventListener): () => void;
  /** Closes one socket of this node with 4403 `WSG_SESSION_REVOKED`; false when no socket here has that id. */
  disconnect(connectionId: string): boolean;
  /** Graceful shutdown: stop accepting, finish in-flight handlers, close sockets with 1001. */
  close(options?: CloseOptions): Promise<void>;
  readonly closing: boolean;

  // For transport adapters and the HTTP mount (setup.ts):
  readonly path: string;
  readonly maxPayload: number;
  readonly perMessageDeflate: boolean;
  readonly httpMount: boolean;
  readonly events: EventBus;
  readonly store: Store;
  /** Decides an upgrade request; a refusal carries the code whose registry entry gives the HTTP status. */
  admit(req: UpgradeRequest): Promise<GateDecision>;
  /** Takes over a socket the gate admitted. */
  open(socket: GuardSocket, decision: GateDecision & { ok: true }, req: UpgradeRequest): Connection;
  /** Runs `detach` at the end of close() (the adapter stops taking upgrades). */
  onClose(detach: () => void): void;
}

/** The same interface, by the name the transport adapters know it. */
export type Guard = WsGuardServer;

/**
 * Builds the server from its options. This function only wires the parts together; each part
 * is in its own file (docs/ARCHITECTURE.md has the map). Throws WsgConfigError on a bad option.
 */
export function createGuard<M extends MessageSchemas, U extends Principal<object> = Principal>(
  options: WsGuardOptions<M, U>,
): WsGuardServer {
  // 1. Options: every default and check in config.ts; `config` is frozen.
  const config = resolveConfig(options);
  const now = options.now ?? Date.now;
  const store = options.store ?? memoryStore();
  const events = createEventBus(createLogger(options.logger), options.onEvent);
  const verifier = createTokenVerifier(options.auth as WsGuardOptions['auth']);

  // 2. State shared by the parts: the sockets, closing, the counters behind stats() and /metrics.
  const sockets = createSockets();
  let closing = false;
  const monitoring = createMonitoring({
    http: config.http,
    events,
    store,
    sockets: () => ({ open: sockets.all.size, authenticated: sockets.authenticated.size }),
    closing: () => closing,
    now,
  });
  const { counters } = monitoring;

  // 3. Security: limits, penalties and anomaly scoring (protection.ts); sessions.
  const protection = createProtection({
    store,
    limits: config.limits,
    anomaly: config.anomaly,
    onAnomaly: options.onAnomaly,
    events,
    now,
  });
  const sessions = createSessionManager(store, config.session, events, now);
  const rejections = createRejectionHandler<Connection>({
    events,
    count: (code) => countUp(counters.rejections, code),
    penalise: (conn, code, retryAfterMs) => protection.rejected(conn, code, retryAfterMs),
  });

  // 3b. Channels (channels/): subscriptions, publications, sendToUser, across nodes by the store.
  const channels = createChannels({
    options: options.channels,
    maxSubscriptions: options.maxSubscriptions,
    store,
    refused: (member, err, m) => rejections.onSocket(member as Connection, err, m),
    storeFailed: (detail) =>
      events.emit({
        event: 'handler.error',
        level: 'warn',
        code: 'WSG_OVERLOADED',
        detail: `channels: ${detail}`,
      }),
  });

  // 4. The upgrade gate (admission.ts): everything decided before a socket exists.
  const admit = createAdmission({
    config,
    events,
    verifier,
    protection,
    sessions,
    closing: () => closing,
    onRejected: rejections.onUpgrade,
  });

  // 5. The message pipeline: frame stages (limits) run in connection.ts, then the envelope,
  //    then these app stages in order, then dispatch (handler, timeout, dedupe, ack).
  const appStages: Stage[] = [createSchemaStage(config.messages, config.binaryType)];
  const csrfStage = createCsrfStage({ enabled: config.csrf, exempt: config.csrfExempt });
  if (csrfStage) appStages.push(csrfStage);
  appStages.push(...protection.appStages);
  const dispatcher = createDispatcher({
    handlers: config.handlers,
    handlerTimeoutMs: config.handlerTimeoutMs,
    dedupeWindow: config.dedupeWindow,
    dedupeTtlMs: config.dedupeTtlMs,
    dedupeUserBytes: config.dedupeUserBytes,
    dedupeTotalBytes: config.dedupeTotalBytes,
    dedupeMaxResultBytes: config.dedupeMaxResultBytes,
    onLatency: monitoring.handled,
    onRefused: (conn, err, m) => rejections.onSocket(conn as Connection, err, m),
    channelRequest: (conn, m) => channels.request(conn as Connection, m),
  });

  // 6. Cross-node channels (store pub/sub): broadcasts; revocations and bans, rechecked after a store outage.
  const broadcast = createBroadcast(store, sockets, events);
  const revocation = createRevocation({
    store,
    sessions,
    sockets,
    events,
    now,
    sessionMaxAgeMs: config.session.maxAgeMs,
    onRevoked: (conn) => channels.revoked(conn, 'WSG_SESSION_REVOKED'),
  });

  // 7. What every connection calls into (connection/host.ts).
  const announced = announceLimits(config.limits, config.maxPayload, channels.maxSubscriptions);
  const host = createConnectionHost({
    config,
    events,
    counters,
    sockets,
    protection,
    sessions,
    verifier,
    parse: createSafeParse({ maxDepth: config.maxDepth, maxKeys: config.maxKeys }),
    readEnvelope: createEnvelopeReader(Object.keys(config.messages)),
    appStages,
    openSession: createSessionOpener({
      protection,
      sessions,
      heartbeatMs: config.heartbeatMs,
      limits: announced,
    }),
    refresh: createRefresher({
      verifier,
      protection,
      sessions,
      path: config.path,
      limits: announced,
      onRefreshed: (conn) => channels.refreshed(conn),
    }),
    dispatch: dispatcher.dispatch,
    onRejected: rejections.onSocket,
    broadcast: broadcast.send,
    closing: () => closing,
    channels,
  });

  // 8. Timers (ticker.ts): heartbeats, slow readers, session expiry; cache sweeps.
  const stopTicker = startTicker({
    sockets,
    sessions,
    heartbeatMs: config.heartbeatMs,
    checkIntervalMs: config.session.checkIntervalMs,
    backpressure: config.backpressure,
    sweepTtlMs: config.dedupeTtlMs,
    sweep: () => {
      dispatcher.sweep(Date.now());
      sweepBlocks(counters, now());
    },
    now,
  });

  const detachers: (() => void)[] = [];
  return {
    path: config.path,
    maxPayload: config.maxPayload,
    perMessageDeflate: config.perMessageDeflate,
    httpMount: config.http.mount,
    events,
    store,
    httpHandler: monitoring.httpHandler,
    stats: monitoring.stats,
    admit,
    open(socket, decision, req) {
      const conn = new Connection(socket, host, randomId(9), decision.ip);
      sockets.all.add(conn);
      counters.connections++;
      protection.opened(conn);
      conn.event({ event: 'connection.accepted', level: 'info' });
      conn.start(decision.principal, req);
      return conn;
    },
    get clients() {
      return sockets.all.size;
    },
    get closing() {
      return closing;
    },
    broadcast: broadcast.send,
    publish: (channel, event, payload) => channels.publish(channel, event, payload),
    async sendToUser(userId, type, payload) {
      if (!APP_TYPE_PATTERN.test(type) || isReservedType(type)) {
        throw new WsgConfigError(
          'WSG_CONFIG_INVALID_ARGUMENT',
          `sendToUser: type '${type}' is reserved or not a valid name`,
        );
      }
      await channels.sendToUser(userId, eventFrame(type, payload));
    },
    unsubscribe: (channel, unsubscribeOptions) => channels.unsubscribe(channel, unsubscribeOptions),
    channels: () => channels.stats(),
    revokeSession: revocation.revokeSession,
    revokeUser: revocation.revokeUser,
    ban: revocation.ban,
    onEvent: (listener) => events.subscribe(listener),
    disconnect(connectionId) {
      for (const c of sockets.all) {
        if (c.connectionId !== connectionId) continue;
        c.fail('WSG_SESSION_REVOKED');
        return true;
      }
      return false;
    },
    onClose: (detach) => void detachers.push(detach),
    // 9. Shutdown (shutdown.ts): refuse upgrades, stop timers and channels, drain, close 1001.
    async close(closeOptions = {}) {
      if (!closing) {
        closing = true;
        events.emit({ event: 'server.closing', level: 'info' });
      }
      stopTicker();
      broadcast.close();
      revocation.close();
      channels.close();
      await drainAndClose(sockets, closeOptions.timeoutMs ?? DEFAULTS.close.timeoutMs);
      for (const detach of detachers.splice(0)) detach();
    },
  };
}
