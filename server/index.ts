import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SignJWT } from 'jose';
import { devAccess, devOpenToNetwork, isLoopback, jwtSecret, setupWebSockets } from './websocket.js';

const port = Number(process.env.PORT ?? 3000);
const host = process.env.HOST ?? '0.0.0.0';
const production = process.env.NODE_ENV === 'production';
/** The user ids `/dev-token?user=` accepts (the ids `user:{id}` channels and `dm` take). */
const USER_ID = /^[A-Za-z0-9_.@-]{1,64}$/;

// The React demo page, built by `npm run build` (vite) next to this file's build.
const pageRoot = fileURLToPath(new URL('../client/', import.meta.url));
const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

async function servePage(path: string, res: ServerResponse): Promise<void> {
  const file = normalize(join(pageRoot, path === '/' ? 'index.html' : path));
  if (!file.startsWith(pageRoot)) {
    res.writeHead(404).end();
    return;
  }
  try {
    const body = await readFile(file);
    res.writeHead(200, {
      'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
      'x-content-type-options': 'nosniff',
      'content-security-policy': "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:",
    });
    res.end(body);
  } catch {
    if (path !== '/') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('Not found\n');
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
    res.end('wsguard demo: connect a WebSocket to /ws and authenticate with the token printed at start.\n');
  }
}

async function devToken(subject = 'demo-user'): Promise<string> {
  return new SignJWT({})
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(subject)
    .setIssuedAt()
    .setExpirationTime('12h')
    .sign(new TextEncoder().encode(jwtSecret));
}

// TLS_CERT and TLS_KEY (PEM files): serve https/wss here, TLS 1.2 or later. Without them, put a
// TLS proxy in front and list it in TRUST_PROXY (in production plain ws:// is refused with 426).
const tlsFiles = [process.env.TLS_CERT, process.env.TLS_KEY];
if (tlsFiles.filter(Boolean).length === 1) throw new Error('set both TLS_CERT and TLS_KEY, or neither');
const tls =
  tlsFiles[0] && tlsFiles[1]
    ? { cert: readFileSync(tlsFiles[0]), key: readFileSync(tlsFiles[1]) }
    : undefined;

// wsguard answers /healthz and /metrics on this server ahead of this handler.
// Node's defaults let a client take 60 s to send its headers (slowloris); an internet-facing
// endpoint wants less (docs/hardening.md).
const limits = { headersTimeout: 10_000, requestTimeout: 30_000 };
const handler = (req: IncomingMessage, res: ServerResponse) => {
  const path = (req.url ?? '/').split('?')[0] ?? '/';
  if (path === '/dev-token' && devAccess(req.socket.remoteAddress)) {
    // Each page gets its own guest identity, so two tabs chat as two users. A page on this
    // machine may pick its user (`?user=alice`) to try DMs and rooms as someone known.
    const asked = new URL(req.url ?? '/', 'http://localhost').searchParams.get('user');
    const local = isLoopback(req.socket.remoteAddress);
    if (asked !== null && (!local || !USER_ID.test(asked))) {
      res.writeHead(400, { 'content-type': 'text/plain' }).end('Bad user\n');
      return;
    }
    void devToken(asked ?? `guest-${randomBytes(3).toString('hex')}`).then((token) => {
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(JSON.stringify({ token }));
    });
    return;
  }
  if (req.method === 'GET' && (path === '/' || path.startsWith('/assets/'))) {
    void servePage(path, res);
    return;
  }
  res.writeHead(404, { 'content-type': 'text/plain' });
  res.end('Not found\n');
};
const server = tls
  ? createHttpsServer({ ...tls, ...limits, minVersion: 'TLSv1.2' }, handler)
  : createServer(limits, handler);

const wss = setupWebSockets(server);

server.listen(port, host, async () => {
  const address = server.address();
  const actualPort = typeof address === 'object' && address ? address.port : port;
  const [web, ws] = tls ? ['https', 'wss'] : ['http', 'ws'];
  console.log(
    `wsguard demo listening on ${web}://localhost:${actualPort}  (WebSocket: ${ws}://localhost:${actualPort}/ws)`,
  );
  if (production && !tls) {
    console.log(
      'no TLS_CERT/TLS_KEY: plain ws:// is refused (426) unless a proxy listed in TRUST_PROXY says X-Forwarded-Proto: https',
    );
  }
  console.log(
    process.env.REDIS_URL
      ? 'store: redis (limits, sessions and broadcasts shared with every instance on that Redis)'
      : 'store: memory (this process only; set REDIS_URL to share state between instances)',
  );
  console.log(
    process.env.WSGUARD_ADMIN_TOKEN
      ? `security dashboard: http://localhost:${actualPort}/admin (sign in with WSGUARD_ADMIN_TOKEN)`
      : 'security dashboard: off (set WSGUARD_ADMIN_TOKEN, 32+ bytes, to serve it at /admin)',
  );
  if (!production) {
    console.log(`dev token (12 h): ${await devToken()}`);
    console.log(
      devOpenToNetwork
        ? 'dev mode OPEN TO THE NETWORK (WSGUARD_DEV_OPEN=1): test_token and /dev-token work for any peer'
        : 'dev mode: test_token and /dev-token work only from this machine (loopback); WSGUARD_DEV_OPEN=1 opens them to the network, NODE_ENV=production turns them off',
    );
  }
});

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, async () => {
    if (stopping) return;
    stopping = true;
    await wss.close({ timeoutMs: 5000 });
    server.close(() => process.exit(0));
  });
}
