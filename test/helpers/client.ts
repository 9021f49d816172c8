import type { ClientEventMap, ClientState } from '../../src/client/index.js';

/** What the helpers need of a client, whatever its message types. */
interface AnySocket {
  readonly state: ClientState;
  addEventListener<K extends keyof ClientEventMap>(
    type: K,
    listener: (event: ClientEventMap[K]) => void,
  ): () => void;
}

/** Resolves with the next lifecycle event of `type` (matching `match`), or fails after `timeoutMs`. */
export function nextEvent<K extends keyof ClientEventMap>(
  socket: AnySocket,
  type: K,
  match: (event: ClientEventMap[K]) => boolean = () => true,
  timeoutMs = 5000,
): Promise<ClientEventMap[K]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`no ${String(type)} event within ${timeoutMs} ms (state ${socket.state})`));
    }, timeoutMs);
    const off = socket.addEventListener(type, (event) => {
      if (!match(event as ClientEventMap[K])) return;
      clearTimeout(timer);
      off();
      resolve(event as ClientEventMap[K]);
    });
  });
}

/** Resolves when the client reaches `state`. */
export function reachState(socket: AnySocket, state: ClientState, timeoutMs = 5000): Promise<void> {
  if (socket.state === state) return Promise.resolve();
  return nextEvent(socket, 'stateChange', (e) => e.to === state, timeoutMs).then(() => undefined);
}

/** A seeded PRNG (mulberry32) in [0, 1), for reproducible backoff jitter. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type Outcome<T> = { ok: true; value: T } | { ok: false; error: Error };

/** Turns a send() promise into an outcome, so no rejection is ever left unhandled. */
export function outcome<T>(p: Promise<T>): Promise<Outcome<T>> {
  return p.then(
    (value) => ({ ok: true as const, value }),
    (error: Error) => ({ ok: false as const, error }),
  );
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
