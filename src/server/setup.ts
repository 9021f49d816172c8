import type { Server as HttpServer } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import { attachWs } from './adapters/ws.js';
import { assertHttpServer } from './http/check-server.js';
import { mountHttpHandler } from './monitor/http.js';
import type { MessageSchemas, WsGuardOptions } from './options.js';
import { createGuard, type WsGuardServer } from './server.js';

export type { WsGuardServer };

/**
 * Attaches a secured WebSocket endpoint to an existing http or https server: the `ws` adapter
 * takes its upgrades, and /healthz and /metrics are answered unless `http.mount: false`.
 * Options are checked here: a bad option throws a WsgConfigError now, not on the first message.
 */
export function setupWebSockets<M extends MessageSchemas>(
  server: HttpServer | HttpsServer,
  options: WsGuardOptions<M>,
): WsGuardServer {
  assertHttpServer(server);
  const guard = createGuard(options);
  const attachment = attachWs(server, guard);
  guard.onClose(() => attachment.detach());
  if (guard.httpMount) guard.onClose(mountHttpHandler(server, guard.httpHandler));
  return guard;
}
