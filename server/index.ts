import { createServer } from 'node:http';
import { SignJWT } from 'jose';
import { jwtSecret, setupWebSockets } from './websocket.js';

const port = Number(process.env.PORT ?? 3000);
const host = process.env.HOST ?? '0.0.0.0';

// wsguard answers /healthz and /metrics on this server ahead of this handler.
const server = createServer((req, res) => {
  if (req.url === '/' || req.url === '/index.html') {
    res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
    res.end('wsguard demo: connect a WebSocket to /ws and authenticate with the token printed at start.\n');
    return;
  }
  res.writeHead(404, { 'content-type': 'text/plain' });
  res.end('Not found\n');
});

const wss = setupWebSockets(server);

async function devToken(): Promise<string> {
  return new SignJWT({})
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject('demo-user')
    .setIssuedAt()
    .setExpirationTime('12h')
    .sign(new TextEncoder().encode(jwtSecret));
}

server.listen(port, host, async () => {
  const address = server.address();
  const actualPort = typeof address === 'object' && address ? address.port : port;
  console.log(
    `wsguard demo listening on http://localhost:${actualPort}  (WebSocket: ws://localhost:${actualPort}/ws)`,
  );
  if (process.env.NODE_ENV !== 'production') {
    console.log(`dev token (12 h): ${await devToken()}`);
    console.log('the static token test_token is also accepted outside production');
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
