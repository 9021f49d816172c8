import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { type WebSocket, WebSocketServer } from 'ws';
import { SUBPROTOCOL } from '../../src/protocol/index.js';

/**
 * MINIMAL PROTOCOL SERVER, test-only. It speaks just enough of wire protocol v1 for the client
 * scenarios the real wsguard server on this branch cannot produce yet:
 * - `session_expiring` + `refresh_ok` (the Sessions issue builds the server side),
 * - close 4429 / 1013 with `retryAfterMs` in the reason, HTTP 429 + Retry-After at the upgrade
 *   (the Rate-limits issue builds those).
 * Every other client test runs against the real server (test/helpers/server.ts). Once those
 * issues are merged, the tests using this file should switch to the real server.
 */
export interface StubConnection {
  /** 1 for the first connection, 2 for the next, ... */
  index: number;
  ws: WebSocket;
  req: IncomingMessage;
  /** Every JSON message received, in order. */
  received: Record<string, unknown>[];
  /** The next message (of `type`, when given). */
  next(type?: string, timeoutMs?: number): Promise<Record<string, unknown>>;
  send(message: unknown): void;
  /** Waits for `auth`, answers `auth_ok`; returns the token and the CSRF token it issued. */
  authenticate(extra?: Record<string, unknown>): Promise<{ token: string; csrf: string }>;
  /** Stop answering pings (the socket stays open). */
  swallowPings: boolean;
}

export interface MinimalServer {
  url: string;
  port: number;
  connections: StubConnection[];
  /** Wall-clock time of each upgrade request. */
  upgradesAt: number[];
  close(): Promise<void>;
}

let csrfCounter = 0;

export async function startMinimalProtocolServer(
  onConnection: (conn: StubConnection) => void | Promise<void>,
  options: {
    /** Refuse upgrade number `index` (1-based) with this HTTP answer. */
    refuseUpgrade?: (index: number) => { status: number; headers?: Record<string, string> } | undefined;
  } = {},
): Promise<MinimalServer> {
  const http = createServer((_req, res) => res.writeHead(404).end());
  const wss = new WebSocketServer({
    noServer: true,
    handleProtocols: (protocols) => (protocols.has(SUBPROTOCOL) ? SUBPROTOCOL : false),
  });
  const connections: StubConnection[] = [];
  const upgradesAt: number[] = [];
  const sockets = new Set<Socket>();
  http.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  http.on('upgrade', (req, socket, head) => {
    upgradesAt.push(Date.now());
    const refusal = options.refuseUpgrade?.(upgradesAt.length);
    if (refusal) {
      const headers = Object.entries(refusal.headers ?? {}).map(([k, v]) => `${k}: ${v}\r\n`);
      socket.end(
        `HTTP/1.1 ${refusal.status} Refused\r\nConnection: close\r\nContent-Length: 0\r\n${headers.join('')}\r\n`,
      );
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      const received: Record<string, unknown>[] = [];
      const waiters: { type: string | undefined; resolve: (m: Record<string, unknown>) => void }[] = [];
      let cursor = 0;
      const conn: StubConnection = {
        index: connections.length + 1,
        ws,
        req,
        received,
        swallowPings: false,
        next(type, timeoutMs = 5000) {
          for (let i = cursor; i < received.length; i++) {
            const m = received[i] as Record<string, unknown>;
            if (type === undefined || m.type === type) {
              cursor = i + 1;
              return Promise.resolve(m);
            }
          }
          return new Promise((resolve, reject) => {
            const timer = setTimeout(
              () => reject(new Error(`stub: no ${type} within ${timeoutMs} ms`)),
              timeoutMs,
            );
            waiters.push({
              type,
              resolve: (m) => {
                clearTimeout(timer);
                cursor = received.length;
                resolve(m);
              },
            });
          });
        },
        send(message) {
          ws.send(JSON.stringify(message));
        },
        async authenticate(extra = {}) {
          const auth = await conn.next('auth');
          const csrf = `csrf-${++csrfCounter}-${Math.random().toString(36).slice(2)}`;
          conn.send({
            type: 'auth_ok',
            sessionId: `s${conn.index}`,
            csrfToken: csrf,
            expiresAt: Date.now() + 3_600_000,
            heartbeatMs: 30_000,
            limits: { maxPayload: 65536 },
            ...extra,
          });
          return { token: auth.token as string, csrf };
        },
      };
      ws.on('message', (data) => {
        const m = JSON.parse(data.toString()) as Record<string, unknown>;
        if (m.type === 'ping') {
          if (!conn.swallowPings) conn.send({ type: 'pong', ts: m.ts });
          return;
        }
        received.push(m);
        const i = waiters.findIndex((w) => w.type === undefined || w.type === m.type);
        if (i >= 0) waiters.splice(i, 1)[0]?.resolve(m);
      });
      ws.on('error', () => {});
      connections.push(conn);
      void Promise.resolve(onConnection(conn)).catch(() => ws.terminate());
    });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const { port } = http.address() as AddressInfo;
  return {
    url: `ws://127.0.0.1:${port}/ws`,
    port,
    connections,
    upgradesAt,
    async close() {
      for (const c of connections) c.ws.terminate();
      for (const s of sockets) s.destroy();
      wss.close();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}
