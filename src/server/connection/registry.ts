import type { Connection } from '../connection.js';

/** The sockets of one server, and a way to wait until they reach a state (shutdown). */
export interface Sockets {
  /** Open now, authenticated or not. */
  readonly all: Set<Connection>;
  /** Past auth_ok: these get broadcasts and are checked against revocations. */
  readonly authenticated: Set<Connection>;
  /** A handler settled or a socket closed: re-checks what waitUntil waits for. */
  changed(): void;
  /** Resolves once `done()` holds (checked now and on every change), or after `ms` (then `onTimeout` runs first). */
  waitUntil(done: () => boolean, ms: number, onTimeout?: () => void): Promise<void>;
}

export function createSockets(): Sockets {
  let check: (() => void) | undefined;
  const sockets: Sockets = {
    all: new Set(),
    authenticated: new Set(),
    changed: () => check?.(),
    waitUntil: (done, ms, onTimeout) =>
      new Promise<void>((resolve) => {
        const finish = () => {
          clearTimeout(timer);
          check = undefined;
          resolve();
        };
        const timer = setTimeout(() => {
          onTimeout?.();
          finish();
        }, ms);
        check = () => {
          if (done()) finish();
        };
        check();
      }),
  };
  return sockets;
}

/** No handler is running on any socket. */
export function noneInFlight(sockets: Sockets): boolean {
  for (const c of sockets.all) if (c.inflight !== 0) return false;
  return true;
}
