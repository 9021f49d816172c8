import type { Server as HttpServer, IncomingMessage } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';
import { BEARER_SUBPROTOCOL_PREFIX, type ErrorCode, ErrorCodes, SUBPROTOCOL } from '../../protocol/index.js';
import type { Connection } from '../connection.js';
import { toRequestView } from '../http/request-view.js';
import type { Guard } from '../server.js';
import type { GuardSocket, UpgradeRequest } from '../socket.js';

/** The thin `ws` adapter: HTTP upgrade -> guard.admit -> ws handshake -> guard.open. */
export interface WsAttachment {
  /** Stops taking upgrades and closes the ws server (sockets are closed by the guard). */
  detach(): void;
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  426: 'Upgrade Required',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

export function writeHttpRejection(
  socket: Duplex,
  status: number,
  code: string | undefined,
  retryAfterMs?: number,
): void {
  if (!socket.writable) return void socket.destroy();
  const body = code ? JSON.stringify({ error: code }) : '';
  const headers = [
    `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Error'}`,
    'Connection: close',
    'Content-Type: application/json',
    `Content-Length: ${Buffer.byteLength(body)}`,
  ];
  if (retryAfterMs !== undefined) headers.push(`Retry-After: ${Math.max(1, Math.ceil(retryAfterMs / 1000))}`);
  if (status === 426) headers.push('Upgrade: websocket');
  // end() only half-closes: a peer that ignores the answer and never sends its FIN would keep
  // this socket open. Destroyed once the answer is flushed, as ws's abortHandshake does.
  socket.once('finish', socket.destroy);
  socket.end(`${headers.join('\r\n')}\r\n\r\n${body}`);
}

export function toUpgradeRequest(req: IncomingMessage): UpgradeRequest {
  // The HTTP version matters to the upgrade's header checks only.
  return { ...toRequestView(req), httpVersion: req.httpVersion };
}

/**
 * The ws socket itself is the GuardSocket: ws makes its sockets from this subclass
 * (`WebSocketServer`'s `WebSocket` option), which routes ws's events straight to the connection
 * from `emit`, on the prototype. An idle socket so costs no listener entries, no per-socket
 * closures and no second object: listeners cost some 100 bytes a socket in the events table,
 * a wrapper object and the property pointing to it 100 more, and closures built inside the
 * upgrade handler would also hold the upgrade request, its headers and token, for the socket's
 * whole life. `close`, `terminate`, `ping` and `bufferedAmount` are ws's own.
 */
class GuardWebSocket extends WebSocket implements GuardSocket {
  /** Set right after the guard opens the connection; until then events go to ws's emitter. */
  conn: Connection | undefined = undefined;
  /** The TCP socket is corked until the frames of the current read are handled. */
  corked = false;
  /** The send epoch of this socket's last frame: a second frame in the same tick corks. */
  sentIn = -1;

  /** The TCP socket (ws sets it once, at the handshake, and never unsets it). */
  get tcp(): Duplex {
    return (this as unknown as { _socket: Duplex })._socket;
  }

  get isOpen(): boolean {
    return this.readyState === 1;
  }

  /**
   * ws's events for a bound socket, without listeners: what the listeners did, in the same
   * order ws emits them. Not listening means ws's emitter never sees them, so an `error`
   * cannot throw for want of a listener (it never could: there was always one).
   */
  override emit(event: string | symbol, a?: unknown, b?: unknown): boolean {
    const conn = this.conn;
    if (conn === undefined) {
      // biome-ignore lint/complexity/noArguments: passes on exactly the arguments ws gave
      return Reflect.apply(WebSocket.prototype.emit, this, arguments) as boolean;
    }
    switch (event) {
      case 'message':
        onMessage(this, conn, a as Buffer, b as boolean);
        return true;
      case 'close':
        conn.handleClose(a as number);
        return true;
      case 'pong':
        conn.handlePong();
        return true;
      case 'ping':
        conn.handlePing(a as Buffer);
        return true;
      case 'error':
        onError(conn, a as Error & { code?: string });
        return true;
    }
    // biome-ignore lint/complexity/noArguments: passes on exactly the arguments ws gave
    return Reflect.apply(WebSocket.prototype.emit, this, arguments) as boolean;
  }

  /** One text frame from the guard; anything else (ws's own calls) goes to ws's send. */
  // biome-ignore lint/suspicious/noExplicitAny: matches each of ws's send overloads
  override send(data: any, options?: any, cb?: any): void {
    if (typeof data !== 'string' || options !== undefined || cb !== undefined) {
      return super.send(data, options, cb);
    }
    const tcp = this.tcp;
    // A lone frame goes out with a plain write; a cork (and the writev it ends in) pays only
    // when a second frame follows in the same tick: replies released together after an async
    // handler or a store answer, or an event pushed next to an ack. Only from an idle socket:
    // behind a backlog Node batches the queued writes by itself.
    if (!this.corked) {
      if (this.sentIn === epoch) {
        if (tcp.writableLength === 0) {
          this.corked = true;
          tcp.cork();
          process.nextTick(uncork, this);
        }
      } else {
        this.sentIn = epoch;
        if (!epochEnding) {
          epochEnding = true;
          process.nextTick(nextEpoch);
        }
      }
    }
    if (!writeFrame(this as unknown as WsView, tcp, data)) super.send(data);
    // Batching is for small replies: large output goes now, or what waits for the uncork would
    // count as a slow reader's backlog against the backpressure limits.
    if (this.corked && tcp.writableLength >= FLUSH_BYTES) uncork(this);
  }
}

/** What writeFrame reads of a ws socket (ws 8 internals, checked before each use). */
type WsView = {
  readyState: number;
  _extensions?: Record<string, unknown>;
  _sender?: { _state?: number; _queue?: unknown[] } | null;
};

/**
 * Writes a text frame to the TCP socket as one buffer: header and payload together. ws writes a
 * frame as two chunks (its header, then the data) under a cork, so even a lone frame costs a
 * `writev`; one buffer is one plain `write`. The bytes are the ones ws would send (FIN, text
 * opcode, no mask, as a server sends). Only when nothing of ws's could come between: the socket
 * is open, no compression was negotiated, and ws's sender is idle with an empty queue; otherwise
 * false, and ws sends the frame itself.
 */
function writeFrame(ws: WsView, tcp: Duplex, data: string): boolean {
  const sender = ws._sender;
  if (
    ws.readyState !== 1 ||
    sender?._state !== 0 ||
    sender._queue?.length !== 0 ||
    ws._extensions === undefined ||
    ws._extensions['permessage-deflate'] !== undefined
  ) {
    return false;
  }
  const length = Buffer.byteLength(data);
  const header = length < 126 ? 2 : length < 65536 ? 4 : 10;
  const frame = Buffer.allocUnsafe(header + length);
  frame[0] = 0x81;
  if (header === 2) frame[1] = length;
  else if (header === 4) {
    frame[1] = 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 127;
    frame.writeUInt32BE(Math.floor(length / 2 ** 32), 2);
    frame.writeUInt32BE(length >>> 0, 6);
  }
  frame.write(data, header, 'utf8');
  tcp.write(frame);
  return true;
}

/** The upgrade's socket error listener; ws adds its own once the handshake is done. */
function destroySelf(this: Duplex): void {
  this.destroy();
}

/** Queued bytes past which a corked socket is flushed at once. */
const FLUSH_BYTES = 16 * 1024;
/** ws's frame reader: bytes of the current TCP chunk not yet turned into frames (ws 8). */
type ReceiverView = { _receiver?: { _bufferedBytes?: number } | null };

/**
 * Ticks, counted only while frames are being sent: one nextTick per tick for every socket,
 * not one per frame, tells a socket's second frame of a tick from its first.
 */
let epoch = 0;
let epochEnding = false;
function nextEpoch(): void {
  epoch++;
  epochEnding = false;
}

function uncork(s: GuardWebSocket): void {
  if (!s.corked) return;
  s.corked = false;
  s.tcp.uncork();
}

function onMessage(s: GuardWebSocket, conn: Connection, data: Buffer, isBinary: boolean): void {
  // ws reads every frame of one TCP chunk in one go; when more bytes of this chunk wait behind
  // this frame, holding the socket corked until they are done sends all their replies in one
  // writev instead of one syscall each. A lone frame's reply goes with a plain write.
  if (!s.corked && (s as unknown as ReceiverView)._receiver?._bufferedBytes) {
    s.corked = true;
    s.tcp.cork();
    process.nextTick(uncork, s);
  }
  conn.handleMessage(data, isBinary);
}

function onError(conn: Connection, err: Error & { code?: string }): void {
  // Both close with 1009: over maxPayload, or a length header past 2^53 - 1.
  const tooLarge =
    err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH' || err.code === 'WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH';
  conn.handleTransportError(tooLarge ? 'WSG_MESSAGE_TOO_LARGE' : 'WSG_BAD_REQUEST');
}

/** Chooses the subprotocol to answer: ours if offered, never the one carrying a token. */
function handleProtocols(protocols: Set<string>): string | false {
  if (protocols.has(SUBPROTOCOL)) return SUBPROTOCOL;
  for (const p of protocols) if (!p.startsWith(BEARER_SUBPROTOCOL_PREFIX)) return p;
  return false;
}

function createWss(guard: Guard): WebSocketServer {
  return new WebSocketServer({
    noServer: true,
    maxPayload: guard.maxPayload,
    perMessageDeflate: guard.perMessageDeflate
      ? {
          threshold: 1024,
          concurrencyLimit: 10,
          serverMaxWindowBits: 13,
          zlibDeflateOptions: { memLevel: 7 },
        }
      : false,
    clientTracking: false,
    handleProtocols,
    WebSocket: GuardWebSocket,
  });
}

/** Serves `guard` and any `others` (the dashboard's socket) from one upgrade listener. */
export function attachWs(server: HttpServer | HttpsServer, main: Guard, others: Guard[] = []): WsAttachment {
  const served = new Map([main, ...others].map((g) => [g.path, { guard: g, wss: createWss(g) }]));
  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const pathname = q === -1 ? url : url.slice(0, q);
    const target = served.get(pathname);
    if (!target) {
      // Another upgrade listener may own this path; answer 404 only when we are the only one.
      if (server.listenerCount('upgrade') === 1) writeHttpRejection(socket, 404, undefined);
      return;
    }
    const { guard, wss } = target;
    socket.on('error', destroySelf);
    const view = toUpgradeRequest(req);
    guard.admit(view).then(
      (decision) => {
        if (socket.destroyed) return;
        if (!decision.ok) {
          const { code, retryAfterMs } = decision.rejection;
          const info = ErrorCodes[code as ErrorCode];
          return writeHttpRejection(socket, 'httpStatus' in info ? info.httpStatus : 400, code, retryAfterMs);
        }
        wss.handleUpgrade(req, socket, head, (ws) => {
          socket.off('error', destroySelf);
          const s = ws as GuardWebSocket;
          s.conn = guard.open(s, decision, view);
        });
      },
      () => writeHttpRejection(socket, 500, 'WSG_INTERNAL'),
    );
  };
  server.on('upgrade', onUpgrade);
  return {
    detach() {
      server.off('upgrade', onUpgrade);
      for (const { wss } of served.values()) wss.close();
    },
  };
}
