import type { Server as HttpServer, IncomingMessage } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { Duplex } from 'node:stream';
import { TLSSocket } from 'node:tls';
import { type WebSocket, WebSocketServer } from 'ws';
import { BEARER_SUBPROTOCOL_PREFIX, type ErrorCode, ErrorCodes, SUBPROTOCOL } from '../../protocol/index.js';
import type { Guard } from '../guard.js';
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
  socket.end(`${headers.join('\r\n')}\r\n\r\n${body}`);
}

export function toUpgradeRequest(req: IncomingMessage): UpgradeRequest {
  return {
    url: req.url ?? '/',
    method: req.method ?? 'GET',
    headers: req.headers,
    remoteAddress: req.socket.remoteAddress ?? '',
    encrypted: req.socket instanceof TLSSocket,
  };
}

function wrap(ws: WebSocket): GuardSocket {
  return {
    send: (data) => ws.send(data),
    close: (code, reason) => ws.close(code, reason),
    terminate: () => ws.terminate(),
    ping: () => ws.ping(),
    get bufferedAmount() {
      return ws.bufferedAmount;
    },
    get isOpen() {
      return ws.readyState === 1;
    },
  };
}

/** Chooses the subprotocol to answer: ours if offered, never the one carrying a token. */
function handleProtocols(protocols: Set<string>): string | false {
  if (protocols.has(SUBPROTOCOL)) return SUBPROTOCOL;
  for (const p of protocols) if (!p.startsWith(BEARER_SUBPROTOCOL_PREFIX)) return p;
  return false;
}

export function attachWs(server: HttpServer | HttpsServer, guard: Guard): WsAttachment {
  const wss = new WebSocketServer({
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

  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const pathname = q === -1 ? url : url.slice(0, q);
    if (pathname !== guard.path) {
      // Another upgrade listener may own this path; answer 404 only when we are the only one.
      if (server.listenerCount('upgrade') === 1) writeHttpRejection(socket, 404, undefined);
      return;
    }
    socket.on('error', () => socket.destroy());
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
          const conn = guard.open(wrap(ws), decision, view);
          // ws reads every frame of one TCP chunk in one go; holding the socket corked until
          // that is done sends all their replies in one writev instead of one syscall each.
          let corked = false;
          const uncork = () => {
            corked = false;
            socket.uncork();
          };
          ws.on('message', (data, isBinary) => {
            if (!corked) {
              corked = true;
              socket.cork();
              process.nextTick(uncork);
            }
            conn.handleMessage(data as Buffer, isBinary);
          });
          ws.on('close', (code) => conn.handleClose(code));
          ws.on('pong', () => conn.handlePong());
          ws.on('error', (err: Error & { code?: string }) => {
            if (err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH')
              conn.handleTransportError('WSG_MESSAGE_TOO_LARGE');
            else conn.handleTransportError('WSG_BAD_REQUEST');
          });
        });
      },
      () => writeHttpRejection(socket, 500, 'WSG_INTERNAL'),
    );
  };
  server.on('upgrade', onUpgrade);
  return {
    detach() {
      server.off('upgrade', onUpgrade);
      wss.close();
    },
  };
}
