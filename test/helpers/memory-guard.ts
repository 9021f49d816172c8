import { vi } from 'vitest';
import type { Connection } from '../../src/server/connection.js';
import type { SecurityEvent, WsGuardOptions } from '../../src/server/index.js';
import { createGuard, type WsGuardServer } from '../../src/server/server.js';
import { type MemorySocket, memorySocket, memoryUpgradeRequest } from './memory-socket.js';

/**
 * A real guard fed through memory sockets (no ws, no TCP), for unit tests of the server's parts:
 * tokens are `good:<user>`; every security event is recorded.
 */
export interface MemoryGuard {
  guard: WsGuardServer;
  events: SecurityEvent[];
  /**
   * Opens an authenticated socket for `user` from `ip`; resolves once auth_ok was sent.
   * `answersPings`: the peer answers every transport ping (as a live client does).
   */
  open(
    user: string,
    ip?: string,
    options?: { answersPings?: boolean },
  ): Promise<{ conn: Connection; socket: MemorySocket; csrf: string }>;
  /** Parsed frames the socket got, of one type. */
  frames(socket: MemorySocket, type: string): Record<string, unknown>[];
  close(): Promise<void>;
}

export function memoryGuard(options: Partial<WsGuardOptions> = {}): MemoryGuard {
  const events: SecurityEvent[] = [];
  const guard = createGuard({
    auth: { verify: (t) => (t.startsWith('good:') ? { id: t.slice(5) } : null) },
    logger: false,
    onEvent: (e) => events.push(e),
    ...options,
  } as WsGuardOptions);
  const frames = (socket: MemorySocket, type: string) =>
    socket.sent.map((f) => JSON.parse(f) as Record<string, unknown>).filter((f) => f.type === type);
  return {
    guard,
    events,
    frames,
    async open(user, ip = '127.0.0.1', options = {}) {
      const socket = memorySocket();
      let pinged = () => {};
      if (options.answersPings) socket.ping = () => pinged();
      const conn = guard.open(socket, { ok: true, ip, principal: { id: user } }, memoryUpgradeRequest());
      pinged = () => conn.handlePong();
      await vi.waitFor(() => {
        if (frames(socket, 'auth_ok').length === 0) throw new Error('no auth_ok yet');
      });
      return { conn, socket, csrf: frames(socket, 'auth_ok')[0]?.csrfToken as string };
    },
    close: () => guard.close({ timeoutMs: 0 }),
  };
}

/** Lets pending promise callbacks (store calls, stages) run. */
export async function turns(n = 5): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise<void>((r) => setImmediate(r));
}
