import type { Server as HttpServer } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import { attachWs } from './adapters/ws.js';
import type { EventListener } from './events.js';
import { type BanOptions, type CloseOptions, createGuard } from './guard.js';
import { assertHttpServer } from './http/check-server.js';
import { type HttpHandler, mountHttpHandler } from './monitor/http.js';
import type { ServerStats } from './monitor/stats.js';
import type { MessageSchemas, WsGuardOptions } from './options.js';

/** What setupWebSockets returns: the live endpoint. */
export interface WsGuardServer {
  /** Sockets open now. */
  readonly clients: number;
  /** Sends an application event to every authenticated socket. */
  broadcast(type: string, payload: unknown): void;
  /** Closes the session's sockets with 4403 (on every node sharing the store); it cannot come back. */
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
  /** Graceful shutdown: stop accepting, finish in-flight handlers, close sockets with 1001. */
  close(options?: CloseOptions): Promise<void>;
}

/**
 * Attaches a secured WebSocket endpoint to an existing http or https server (the seed's API).
 * Options are checked here: a bad option throws a WsgConfigError now, not on the first message.
 */
export function setupWebSockets<M extends MessageSchemas>(
  server: HttpServer | HttpsServer,
  options: WsGuardOptions<M>,
): WsGuardServer {
  assertHttpServer(server);
  const guard = createGuard(options);
  const attachment = attachWs(server, guard);
  const unmount = guard.httpMount ? mountHttpHandler(server, guard.httpHandler) : () => {};
  return {
    revokeSession: (id) => guard.revokeSession(id),
    revokeUser: (id) => guard.revokeUser(id),
    ban: (ip, banOptions) => guard.ban(ip, banOptions),
    stats: () => guard.stats(),
    httpHandler: guard.httpHandler,
    get clients() {
      return guard.clients;
    },
    broadcast: (type, payload) => guard.broadcast(type, payload),
    onEvent: (listener) => guard.events.subscribe(listener),
    async close(closeOptions) {
      await guard.close(closeOptions);
      attachment.detach();
      unmount();
    },
  };
}
