// The server of `npm run bench:hostile`: wsguard from the sources with its default pipeline (JWT
// auth, schema, CSRF, dedupe, prescan, anomaly scoring), limits and anomaly thresholds set out of
// reach so every hostile frame is handled and answered rather than ending the run early: the
// measure is the server's cost per frame of each kind, the worst case for the server.
import { createServer } from 'node:http';
import { z } from 'zod';
import { setupWebSockets } from '../../src/server/index.js';

const high = { rate: 1e9, burst: 1e9 };
const http = createServer();
setupWebSockets(http, {
  auth: { jwt: { secret: process.env.BENCH_SECRET ?? '' } },
  logger: false,
  trustProxy: ['127.0.0.1'],
  messages: { echo: z.object({ text: z.string() }) },
  handlers: { echo: (_ctx, payload) => payload },
  limits: {
    messages: high,
    bytes: { rate: 1e12, burst: 1e12 },
    user: high,
    connectionsPerIp: false,
    concurrentPerIp: false,
    concurrentPerUser: false,
    authFailures: false,
    penalties: false,
  },
  anomaly: { thresholds: { warn: 1e9, disconnect: 2e9, block: 3e9 } },
  http: { healthPath: false, metricsPath: false },
});
http.listen(0, '127.0.0.1', () => {
  const a = http.address();
  process.send?.({ port: typeof a === 'object' && a ? a.port : 0 });
});
process.on('message', (m: { cmd?: string }) => {
  if (m.cmd === 'cpu') process.send?.({ cpu: process.cpuUsage() });
});
process.on('disconnect', () => process.exit(0));
