// A wsguard server (built, from dist/) in its own process for the restart tests. Its `work`
// handler writes one journal line per run ("<pid> <client> <n>") with a synchronous append, so
// the journal survives a SIGKILL: a line is there if and only if the handler ran.
// Env: PORT, JOURNAL (file), SECRET (JWT HS256). SIGTERM: graceful close as the demo does it.
// SIGUSR2: cut every TCP connection without a close frame, the process lives on.
import { appendFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { z } from 'zod';
import { setupWebSockets } from '../../dist/src/server/index.js';

const journal = process.env.JOURNAL;
const http = createServer((_req, res) => res.writeHead(404).end());
const sockets = new Set();
http.on('connection', (s) => {
  sockets.add(s);
  s.on('close', () => sockets.delete(s));
});
const wss = setupWebSockets(http, {
  auth: { jwt: { secret: process.env.SECRET } },
  logger: false,
  // Delivery is the subject here, not limits: a reconnect storm from one IP must pass.
  limits: false,
  anomaly: false,
  messages: { work: z.object({ c: z.number().int(), n: z.number().int() }) },
  handlers: {
    // Like a database write: the effect happens, then the handler awaits before it acks.
    work: async (_ctx, { c, n }) => {
      appendFileSync(journal, `${process.pid} ${c} ${n}\n`);
      await new Promise((resolve) => setTimeout(resolve, 2));
      return n;
    },
  },
});
http.listen(Number(process.env.PORT), '127.0.0.1', () => console.log(`listening pid=${process.pid}`));

process.on('SIGTERM', async () => {
  await wss.close({ timeoutMs: 5000 });
  http.close(() => process.exit(0));
});
process.on('SIGUSR2', () => {
  for (const s of sockets) s.destroy();
  console.log(`dropped ${sockets.size} sockets`);
});
