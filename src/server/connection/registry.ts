import type { Connection } from '../connection.js';

/** The sockets of one server, and a way to wait until they reach a state (shutdown). */
export interface Sockets {
  /** Open now, authenticated or not. */
  readonly all: Set<Connection>;
  /** Past auth_ok: these get broadcasts and are checked against revocations. */
  readonly authenticated: AuthenticatedSockets;
  /** A handler settled or a socket closed: re-checks what waitUntil waits for. */
  changed(): void;
  /** Resolves once `done()` holds (checked now and on every change), or after `ms` (then `onTimeout` runs first). */
  waitUntil(done: () => boolean, ms: number, onTimeout?: () => void): Promise<void>;
}

/**
 * The authenticated ones among `all`: a mark on each socket (`Connection.authenticated`) and a
 * count, not a second Set, whose entry would cost every idle socket some 30 bytes more.
 * Iterates in the order the sockets opened.
 */
export interface AuthenticatedSockets extends Iterable<Connection> {
  readonly size: number;
  add(conn: Connection): void;
  delete(conn: Connection): void;
  has(conn: Connection): boolean;
}

function createAuthenticated(all: Set<Connection>): AuthenticatedSockets {
  let size = 0;
  return {
    get size() {
      return size;
    },
    add(conn) {
      if (conn.authenticated) return;
      conn.authenticated = true;
      size++;
    },
    delete(conn) {
      if (!conn.authenticated) return;
      conn.authenticated = false;
      size--;
    },
    has: (conn) => conn.authenticated,
    *[Symbol.iterator]() {
      for (const c of all) if (c.authenticated) yield c;
    },
  };
}

export function createSockets(): Sockets {
  let check: (() => void) | undefined;
  const all = new Set<Connection>();
  const sockets: Sockets = {
    all,
    authenticated: createAuthenticated(all),
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
