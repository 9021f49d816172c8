import type { Server as HttpServer } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import { attachWs } from './adapters/ws.js';
import type { EventListener } from './events.js';
import { type CloseOptions, createGuard } from './guard.js';
import type { MessageSchemas, WsGuardOptions } from './options.js';

/** What setupWebSockets returns: the live endpoint. */
export interface WsGuardServer {
  /** Sockets open now. */
  readonly clients: number;
  /** Sends an application event to every authenticated socket. */
  broadcast(type: string, payload: unknown): void;
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
  const guard = createGuard(options);
  const attachment = attachWs(server, guard);
  return {
    get clients() {
      return guard.clients;
    },
    broadcast: (type, payload) => guard.broadcast(type, payload),
    onEvent: (listener) => guard.events.subscribe(listener),
    async close(closeOptions) {
      await guard.close(closeOptions);
      attachment.detach();
    },
  };
}
