import { createServer } from 'node:http';
import { z } from 'zod';
import { memoryStore, setupWebSockets } from '../../dist/src/server/index.js';
import { serve } from './common.mjs';

// (c) wsguard, built (dist), with every stage on: JWT auth, Zod schema, CSRF, rate limits (set
// high enough not to trigger), anomaly scoring (thresholds out of reach), memory store.
const high = { rate: 1e9, burst: 1e9 };
const http = createServer();
setupWebSockets(http, {
  auth: { jwt: { secret: 'bench-secret-bench-secret-bench-secret-01' } },
  logger: false,
  maxPayload: 256 * 1024,
  store: memoryStore(),
  messages: { echo: z.object({ n: z.number(), data: z.string() }) },
  handlers: { echo: (_ctx, payload) => payload },
  limits: {
    messages: high,
    bytes: { rate: 1e12, burst: 1e12 },
    user: high,
    connectionsPerIp: false,
    concurrentPerIp: false,
    concurrentPerUser: false,
  },
  anomaly: { thresholds: { warn: 1e9, disconnect: 2e9, block: 3e9 } },
  http: { healthPath: false, metricsPath: false },
});
serve(http);
