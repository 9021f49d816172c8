import type { Server as HttpServer } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import { attachWs } from './adapters/ws.js';
import type { ChannelStats, UnsubscribeOptions } from './channels/index.js';
import type { EventListener } from './events.js';
import { type BanOptions, type CloseOptions, createGuard } from './guard.js';
import { type HttpHandler, mountHttpHandler } from './monitor/http.js';
import type { ServerStats } from './monitor/stats.js';
import type { MessageSchemas, Principal, WsGuardOptions } from './options.js';

/** What setupWebSockets returns: the live endpoint. */
export interface WsGuardServer {
  /** Sockets open now. */
  readonly clients: number;
  /** Sends an application event to every authenticated socket. */
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
export function setupWebSockets<M extends MessageSchemas, U extends Principal<object> = Principal>(
  server: HttpServer | HttpsServer,
  options: WsGuardOptions<M, U>,
): WsGuardServer {
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
    publish: (channel, event, payload) => guard.publish(channel, event, payload),
    sendToUser: (userId, type, payload) => guard.sendToUser(userId, type, payload),
    unsubscribe: (channel, unsubscribeOptions) => guard.unsubscribe(channel, unsubscribeOptions),
    channels: () => guard.channels(),
    onEvent: (listener) => guard.events.subscribe(listener),
    async close(closeOptions) {
      await guard.close(closeOptions);
      attachment.detach();
      unmount();
    },
  };
}
