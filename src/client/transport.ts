import { BOUNDS, clampRetryAfter } from './bounds.js';
import { ConnectionError } from './errors.js';

/** An event handler property, bivariant in its event so the DOM's and `ws`'s own types fit. */
type Handler<E> = { bivarianceHack(event: E): void }['bivarianceHack'];

/** The part of the WHATWG WebSocket the client uses: the browser's, `ws`'s, or any look-alike. */
export interface WebSocketLike {
  readonly readyState: number;
  readonly protocol: string;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: Handler<unknown> | null;
  onmessage: Handler<{ data: unknown }> | null;
  onclose: Handler<{ code: number; reason: string; wasClean?: boolean }> | null;
  onerror: Handler<unknown> | null;
}

export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => WebSocketLike;

/** How a transport ended, normalized. */
export interface TransportClose {
  code: number;
  reason: string;
  /** Set when the upgrade was refused and the implementation lets us see it (`ws` in Node). */
  httpStatus?: number;
  retryAfterMs?: number;
  /** The client refused an inbound message over its bound (`ws` in Node stops reading it). */
  tooLarge?: boolean;
  /**
   * No connection was made, so nothing (not the upgrade request) reached a server: the
   * connection was refused, or the host not found or unreachable. Only `ws` in Node says so.
   */
  unreached?: boolean;
}

/** Socket errors that mean the request never left the client. */
const UNREACHED = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

export interface TransportHandlers {
  open(protocol: string): void;
  message(text: string): void;
  close(info: TransportClose): void;
}

/** One socket, with its events routed to `handlers` until it is abandoned. */
export interface Transport {
  send(data: string): void;
  /** Starts a close handshake and stops reporting events. */
  close(code: number, reason: string): void;
  /** Drops the socket at once (no handshake to wait for) and stops reporting events. */
  abandon(): void;
}

/** Where the client runs, as far as choosing an implementation goes. */
export interface WebSocketEnv {
  /** Node (or a runtime that reports a Node version): `ws` is worth trying first. */
  node: boolean;
  /** The runtime's own WebSocket, if any (browsers, Node >= 22). */
  global: WebSocketConstructor | undefined;
  /** Loads `ws`; rejects when it is not installed. */
  loadWs(): Promise<WebSocketConstructor>;
}

async function loadWs(): Promise<WebSocketConstructor> {
  // A variable specifier keeps browser bundlers from trying to bundle `ws`.
  const name = 'ws';
  const mod = (await import(/* @vite-ignore */ name)) as {
    default?: WebSocketConstructor;
    WebSocket?: WebSocketConstructor;
  };
  const ctor = mod.WebSocket ?? mod.default;
  if (typeof ctor !== 'function') throw new Error('the ws module has no WebSocket export');
  return ctor;
}

function runtimeEnv(): WebSocketEnv {
  const proc = (globalThis as { process?: { versions?: { node?: unknown } } }).process;
  const global = (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  return {
    node: typeof proc?.versions?.node === 'string',
    global: typeof global === 'function' ? global : undefined,
    loadWs,
  };
}

type Loaded = { ctor: WebSocketConstructor } | { error: unknown };

/** `ws` once loaded, for the life of the process (a failed load is tried again next time). */
let wsModule: Promise<Loaded> | undefined;

function settle(p: Promise<WebSocketConstructor>): Promise<Loaded> {
  return p.then(
    (ctor) => ({ ctor }),
    (error: unknown) => ({ error }),
  );
}

/**
 * The WebSocket implementation: the injected one; else in Node the `ws` package, whose refused
 * upgrade status and Retry-After, read-time message bound and deflate switch the client relies
 * on (Node 22's global WebSocket has none of them), falling back to the global one when `ws`
 * cannot be loaded; else (browsers) the global one.
 */
export async function resolveWebSocket(
  injected: WebSocketConstructor | undefined,
  log?: (message: string) => void,
  env: WebSocketEnv = runtimeEnv(),
): Promise<WebSocketConstructor> {
  if (injected) return injected;
  if (!env.node && env.global) return env.global;
  let loaded: Loaded;
  if (env.loadWs === loadWs) {
    wsModule ??= settle(loadWs());
    loaded = await wsModule;
    if ('error' in loaded) wsModule = undefined;
  } else {
    loaded = await settle(env.loadWs());
  }
  if ('ctor' in loaded) return loaded.ctor;
  if (env.global) {
    log?.(
      'ws not installed: using the global WebSocket (no upgrade status, no read-time bound, deflate offered)',
    );
    return env.global;
  }
  throw new ConnectionError(
    'no WebSocket implementation: install the ws package or pass the WebSocket option',
    {
      cause: loaded.error,
    },
  );
}

interface NodeEmitterLike {
  once(event: 'unexpected-response', listener: (req: unknown, res: NodeResponseLike) => void): unknown;
  terminate(): void;
}
interface NodeResponseLike {
  statusCode?: number;
  headers?: Record<string, string | string[] | undefined>;
  resume?: () => void;
}

function retryAfterHeader(value: string | string[] | undefined): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (v === undefined) return undefined;
  const seconds = Number(v);
  const max = BOUNDS.maxReconnectRetryAfterMs;
  if (Number.isFinite(seconds) && seconds >= 0) return clampRetryAfter(seconds * 1000, max);
  const date = Date.parse(v);
  return Number.isNaN(date) ? undefined : clampRetryAfter(Math.max(0, date - Date.now()), max);
}

const noop = () => {};

/** Opens a socket; the constructor's own errors (bad URL, bad subprotocol) are thrown here. */
export function openTransport(
  Ctor: WebSocketConstructor,
  url: string,
  protocols: string[],
  handlers: TransportHandlers,
  /** The largest inbound message; `ws` stops reading past it (browsers cannot, the client checks after). */
  maxInboundBytes: number = BOUNDS.defaultInboundBytes,
): Transport {
  // `ws` reads this third argument: no permessage-deflate (nothing to inflate, no compression
  // bomb) and a bound it enforces while reading. Browsers and other look-alikes ignore it.
  const NodeCtor = Ctor as unknown as new (u: string, p: string[], o: object) => WebSocketLike;
  const ws = new NodeCtor(url, protocols, { maxPayload: maxInboundBytes, perMessageDeflate: false });
  let live = true;
  let tooLarge = false;
  let unreached = false;
  let refused: { httpStatus: number; retryAfterMs?: number } | undefined;

  const node = ws as unknown as Partial<NodeEmitterLike>;
  if (typeof node.once === 'function' && typeof node.terminate === 'function') {
    // `ws` in Node lets us read a refused upgrade's status; browsers only say 1006.
    node.once('unexpected-response', (_req, res) => {
      refused = { httpStatus: res.statusCode ?? 0 };
      const retryAfterMs = retryAfterHeader(res.headers?.['retry-after']);
      if (retryAfterMs !== undefined) refused.retryAfterMs = retryAfterMs;
      res.resume?.();
      node.terminate?.();
    });
  }

  const detach = () => {
    live = false;
    ws.onopen = null;
    ws.onmessage = null;
    ws.onclose = null;
    // `ws` throws on an 'error' event with no listener: keep one that does nothing.
    ws.onerror = noop;
  };

  ws.onopen = () => {
    if (live) handlers.open(ws.protocol);
  };
  ws.onmessage = (event) => {
    if (live && typeof event.data === 'string') handlers.message(event.data);
  };
  // The close event that follows tells the handlers everything an error event could, except
  // that `ws` refused a message over the bound.
  ws.onerror = (event: unknown) => {
    const error = (event as { error?: { code?: unknown } } | null)?.error;
    if (error?.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') tooLarge = true;
    if (typeof error?.code === 'string' && UNREACHED.has(error.code)) unreached = true;
  };
  ws.onclose = (event) => {
    if (!live) return;
    detach();
    const info: TransportClose = { code: event.code, reason: event.reason ?? '' };
    if (tooLarge) {
      // `ws` closed with 1009 itself but reports 1006: say what happened.
      info.code = 1009;
      info.tooLarge = true;
    }
    if (unreached) info.unreached = true;
    if (refused) {
      info.httpStatus = refused.httpStatus;
      if (refused.retryAfterMs !== undefined) info.retryAfterMs = refused.retryAfterMs;
    }
    handlers.close(info);
  };

  return {
    send(data) {
      if (live && ws.readyState === 1) ws.send(data);
    },
    close(code, reason) {
      detach();
      try {
        ws.close(code, reason);
      } catch {
        ws.close();
      }
    },
    abandon() {
      detach();
      if (typeof node.terminate === 'function') node.terminate();
      else ws.close();
    },
  };
}
