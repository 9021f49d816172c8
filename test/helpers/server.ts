import { createServer, type Server, type ServerOptions } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { SignJWT } from 'jose';
import {
  type MessageSchemas,
  setupWebSockets,
  type WsGuardOptions,
  type WsGuardServer,
} from '../../src/server/index.js';

/** A 32-byte test secret. */
export const TEST_SECRET = 'test-secret-test-secret-test-secret-0123';

export interface TestServer {
  http: Server;
  wss: WsGuardServer;
  port: number;
  /** ws://127.0.0.1:<port><path> */
  url: string;
  /** The raw TCP sockets open now (upgraded ones included), e.g. to kill the server's side. */
  sockets: Set<Socket>;
  close(): Promise<void>;
}

/**
 * Starts a real http server on 127.0.0.1 with wsguard attached, on port 0 or on `listen.port`
 * (to restart a server on the same port). Logging off by default. `listen.http` sets Node's own
 * server options (headersTimeout, maxHeaderSize, ...).
 */
export async function startServer<M extends MessageSchemas>(
  options: Partial<WsGuardOptions<M>> = {},
  listen: { port?: number; http?: ServerOptions } = {},
): Promise<TestServer> {
  const http = createServer(listen.http ?? {}, (_req, res) => {
    res.writeHead(404);
    res.end();
  });
  const wss = setupWebSockets(http, {
    auth: { jwt: { secret: TEST_SECRET } },
    logger: false,
    ...options,
  } as WsGuardOptions<M>);
  const sockets = new Set<Socket>();
  http.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => http.listen(listen.port ?? 0, '127.0.0.1', resolve));
  const { port } = http.address() as AddressInfo;
  return {
    http,
    wss,
    port,
    url: `ws://127.0.0.1:${port}${options.path ?? '/ws'}`,
    sockets,
    async close() {
      await wss.close({ timeoutMs: 1000 });
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}

/** Signs an HS256 test token for `sub`, valid for an hour unless claims say otherwise. */
export async function signToken(
  sub = 'user-1',
  claims: Record<string, unknown> = {},
  secret: string = TEST_SECRET,
): Promise<string> {
  const jwt = new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setSubject(sub).setIssuedAt();
  if (claims.exp === undefined) jwt.setExpirationTime('1h');
  return jwt.sign(new TextEncoder().encode(secret));
}
