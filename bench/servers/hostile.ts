// The server of `npm run bench:hostile`: wsguard from the sources with its default pipeline (JWT
// auth, schema, CSRF, dedupe, prescan, anomaly scoring), limits and anomaly thresholds set out of
// reach so every hostile frame is handled and answered rather than ending the run early: the
// measure is the server's cost per frame of each kind, the worst case for the server.
import { createServer } from 'node:http';
import { z } from 'zod';
import { setupWebSockets } from '../../src/server/index.js';
import { outOfReach } from './out-of-reach.js';

const http = createServer();
setupWebSockets(http, {
  auth: { jwt: { secret: process.env.BENCH_SECRET ?? '' } },
  logger: false,
  trustProxy: ['127.0.0.1'],
  messages: { echo: z.object({ text: z.string() }) },
  handlers: { echo: (_ctx, payload) => payload },
  ...outOfReach,
  limits: { ...outOfReach.limits, authFailures: false, penalties: false },
});
http.listen(0, '127.0.0.1', () => {
  const a = http.address();
  process.send?.({ port: typeof a === 'object' && a ? a.port : 0 });
});
process.on('message', (m: { cmd?: string }) => {
  if (m.cmd === 'cpu') process.send?.({ cpu: process.cpuUsage() });
});
process.on('disconnect', () => process.exit(0));
// An orderly exit on SIGTERM too, so a --cpu-prof (BENCH_SERVER_ARGS) is written.
process.on('SIGTERM', () => process.exit(0));
