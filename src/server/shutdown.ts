import { CloseCode, formatCloseReason } from '../protocol/index.js';
import { noneInFlight, type Sockets } from './connection/registry.js';
import { DEFAULTS } from './defaults.js';

/**
 * Graceful shutdown of the sockets (the caller has already stopped admitting and stopped the
 * timers): handlers in flight may finish within `timeoutMs` and their replies go out; then every
 * socket is closed 1001 `WSG_SHUTTING_DOWN`, and those whose close handshake does not complete
 * are terminated.
 */
export async function drainAndClose(sockets: Sockets, timeoutMs: number): Promise<void> {
  await sockets.waitUntil(() => noneInFlight(sockets), timeoutMs);
  const reason = formatCloseReason('WSG_SHUTTING_DOWN');
  for (const c of [...sockets.all]) c.closeSocket(CloseCode.GoingAway, reason);
  await sockets.waitUntil(
    () => sockets.all.size === 0,
    DEFAULTS.internal.shutdownTerminateMs,
    () => {
      for (const c of sockets.all) c.socket.terminate();
    },
  );
}
