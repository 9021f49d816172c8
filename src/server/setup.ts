import type { Server as HttpServer } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import { attachWs } from './adapters/ws.js';
import { createDashboard } from './dashboard/index.js';
import { resolveDashboard } from './dashboard/options.js';
import { assertHttpServer } from './http/check-server.js';
import { mountHttpHandler } from './monitor/http.js';
import type { MessageSchemas, Principal, WsGuardOptions } from './options.js';
import { createGuard, type WsGuardServer } from './server.js';

export type { WsGuardServer };

/**
 * Attaches a secured WebSocket endpoint to an existing http or https server: the `ws` adapter
 * takes its upgrades, and /healthz and /metrics are answered unless `http.mount: false`.
 * Options are checked here: a bad option throws a WsgConfigError now, not on the first message.
 */
export function setupWebSockets<M extends MessageSchemas, U extends Principal<object> = Principal>(
  server: HttpServer | HttpsServer,
  options: WsGuardOptions<M, U>,
): WsGuardServer {
  assertHttpServer(server);
  // Checked before the guard exists, so a refused dashboard leaves nothing running.
  const dashboardOptions = options.dashboard && resolveDashboard(options.dashboard, options.path ?? '/ws');
  const guard = createGuard(options);
  const dashboard = dashboardOptions && createDashboard(guard, options, dashboardOptions);
  const attachment = attachWs(server, guard, dashboard ? [dashboard.guard] : []);
  guard.onClose(() => attachment.detach());
  if (guard.httpMount) guard.onClose(mountHttpHandler(server, guard.httpHandler));
  if (dashboard) {
    const unmount = mountHttpHandler(server, dashboard.http);
    guard.onClose(() => {
      unmount();
      void dashboard.close().catch(() => {});
    });
  }
  return guard;
}
