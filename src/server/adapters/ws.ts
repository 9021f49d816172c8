import type { Server as HttpServer, IncomingMessage } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { Duplex } from 'node:stream';
import { type WebSocket, WebSocketServer } from 'ws';
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
 * The GuardSocket over a ws socket, and what that socket's listeners need. A class, so the
 * methods live on the prototype and an idle socket costs this one small object: per-socket
 * closures cost some 300 bytes, and built inside the upgrade handler they would also hold the
 * upgrade request, its headers and token, for the socket's whole life.
 */
class WsSocket implements GuardSocket {
  /** Set right after the guard opens the connection, before any listener runs. */
  conn!: Connection;
  /** The TCP socket is corked until the frames of the current read are handled. */
  corked = false;
  constructor(
    private readonly ws: WebSocket,
    readonly tcp: Duplex,
  ) {}
  /** The send epoch of this socket's last frame: a second frame in the same tick corks. */
  sentIn = -1;
  send(data: string): void {
    // A lone frame goes out with a plain write; a cork (and the writev it ends in) pays only
    // when a second frame follows in the same tick: replies released together after an async
    // handler or a store answer, or an event pushed next to an ack. Only from an idle socket:
    // behind a backlog Node batches the queued writes by itself.
    if (!this.corked) {
      if (this.sentIn === epoch) {
        if (this.tcp.writableLength === 0) {
          this.corked = true;
          this.tcp.cork();
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
    if (!writeFrame(this.ws as WsView, this.tcp, data)) this.ws.send(data);
    // Batching is for small replies: large output goes now, or what waits for the uncork would
    // count as a slow reader's backlog against the backpressure limits.
    if (this.corked && this.tcp.writableLength >= FLUSH_BYTES) uncork(this);
  }
  close(code: number, reason: string): void {
    this.ws.close(code, reason);
  }
  terminate(): void {
    this.ws.terminate();
  }
  ping(): void {
    this.ws.ping();
  }
  get bufferedAmount(): number {
    return this.ws.bufferedAmount;
  }
  get isOpen(): boolean {
    return this.ws.readyState === 1;
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

const kSocket = Symbol('wsguard.socket');
/** Queued bytes past which a corked socket is flushed at once. */
const FLUSH_BYTES = 16 * 1024;
type BoundWs = WebSocket & { [kSocket]: WsSocket };
/** ws's frame reader: bytes of the current TCP chunk not yet turned into frames (ws 8). */
type ReceiverView = { _receiver?: { _bufferedBytes?: number } | null };

/** Wires a ws socket to its connection with listeners shared by every socket (`this` is the ws). */
function bind(ws: WebSocket, s: WsSocket, conn: Connection): void {
  s.conn = conn;
  (ws as BoundWs)[kSocket] = s;
  ws.on('message', onMessage);
  ws.on('close', onClose);
  ws.on('pong', onPong);
  ws.on('ping', onPing);
  ws.on('error', onError);
}

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

function uncork(s: WsSocket): void {
  if (!s.corked) return;
  s.corked = false;
  s.tcp.uncork();
}

function onMessage(this: WebSocket, data: Buffer, isBinary: boolean): void {
  const s = (this as BoundWs)[kSocket];
  // ws reads every frame of one TCP chunk in one go; when more bytes of this chunk wait behind
  // this frame, holding the socket corked until they are done sends all their replies in one
  // writev instead of one syscall each. A lone frame's reply goes with a plain write.
  if (!s.corked && (this as ReceiverView)._receiver?._bufferedBytes) {
    s.corked = true;
    s.tcp.cork();
    process.nextTick(uncork, s);
  }
  s.conn.handleMessage(data, isBinary);
}

function onClose(this: WebSocket, code: number): void {
  (this as BoundWs)[kSocket].conn.handleClose(code);
}

function onPong(this: WebSocket): void {
  (this as BoundWs)[kSocket].conn.handlePong();
}

function onPing(this: WebSocket, data: Buffer): void {
  (this as BoundWs)[kSocket].conn.handlePing(data);
}

function onError(this: WebSocket, err: Error & { code?: string }): void {
  // Both close with 1009: over maxPayload, or a length header past 2^53 - 1.
  const tooLarge =
    err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH' || err.code === 'WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH';
  (this as BoundWs)[kSocket].conn.handleTransportError(
    tooLarge ? 'WSG_MESSAGE_TOO_LARGE' : 'WSG_BAD_REQUEST',
  );
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
          const s = new WsSocket(ws, socket);
          bind(ws, s, guard.open(s, decision, view));
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
