import { createServer } from 'node:http';
import { z } from 'zod';
import { serve } from './common.mjs';

// bench/servers/wsguard.mjs with parts turned off by WSGUARD_BENCH_OFF (a comma list): dedupe,
// schema, csrf, limits, anomaly, bytes (the byte limit only), user (the per-user limit only), to
// see which part carries a cost (bench/one-by-one.ts). Everything not named stays as there.
const dist = process.env.WSGUARD_DIST ?? new URL('../../dist', import.meta.url).pathname;
const { memoryStore, setupWebSockets } = await import(`${dist}/src/server/index.js`);
const off = new Set((process.env.WSGUARD_BENCH_OFF ?? '').split(',').filter(Boolean));
const high = { rate: 1e9, burst: 1e9 };
const limits = {
  messages: high,
  bytes: off.has('bytes') ? false : { rate: 1e12, burst: 1e12 },
  user: off.has('user') ? false : { rate: 1e5, burst: 1e9 },
  connectionsPerIp: false,
  concurrentPerIp: false,
  concurrentPerUser: false,
};
const http = createServer();
setupWebSockets(http, {
  auth: { jwt: { secret: 'bench-secret-bench-secret-bench-secret-01' } },
  logger: false,
  maxPayload: 256 * 1024,
  store: memoryStore(),
  // schema off: a Standard Schema that takes anything, so the handler still has its type.
  messages: {
    echo: off.has('schema')
      ? { '~standard': { version: 1, vendor: 'bench', validate: (value) => ({ value }) } }
      : z.object({ n: z.number(), data: z.string() }),
  },
  handlers: { echo: (_ctx, payload) => payload },
  ...(off.has('dedupe') ? { dedupeWindow: 0 } : {}),
  ...(off.has('csrf') ? { csrf: false } : {}),
  limits: off.has('limits') ? false : limits,
  anomaly: off.has('anomaly') ? false : { thresholds: { warn: 1e9, disconnect: 2e9, block: 3e9 } },
  http: { healthPath: false, metricsPath: false },
});
serve(http);
