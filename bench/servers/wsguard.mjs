import { createServer } from 'node:http';
import { z } from 'zod';
import { serve } from './common.mjs';

// WSGUARD_DIST: another build (the bench's --baseline), else this checkout's dist/.
const dist = process.env.WSGUARD_DIST ?? new URL('../../dist', import.meta.url).pathname;
const { memoryStore, redisStore, setupWebSockets } = await import(`${dist}/src/server/index.js`);

// (c) wsguard, built (dist), with every stage on: JWT auth, Zod schema, CSRF, rate limits (set
// high enough not to trigger), anomaly scoring (thresholds out of reach), memory store.
const high = { rate: 1e9, burst: 1e9 };
// (d) with WSGUARD_BENCH_STORE=redis (servers/wsguard-redis.mjs): the same server on the Redis
// store, sharing the redis-server the orchestrator started (REDIS_URL).
const store =
  process.env.WSGUARD_BENCH_STORE === 'redis'
    ? redisStore({ url: process.env.REDIS_URL, prefix: `bench${process.pid}:` })
    : memoryStore();
if (process.env.WSGUARD_BENCH_STORE === 'redis') await store.ready();
const http = createServer();
setupWebSockets(http, {
  auth: { jwt: { secret: 'bench-secret-bench-secret-bench-secret-01' } },
  logger: false,
  maxPayload: 256 * 1024,
  store,
  messages: { echo: z.object({ n: z.number(), data: z.string() }) },
  handlers: { echo: (_ctx, payload) => payload },
  limits: {
    messages: high,
    bytes: { rate: 1e12, burst: 1e12 },
    // Per user. Every load socket signs in as the one user `bench`, so this bucket sees the
    // whole load (150k+ msgs/s): a burst of a billion keeps it out of reach for any run. The
    // rate stays at 1e5, not a billion: the Redis store leases tokens for as long as the bucket
    // takes to refill them, and a bucket that refills a billion a second makes every lease last
    // a millisecond (the Lua script rounds it up).
    user: { rate: 1e5, burst: 1e9 },
    connectionsPerIp: false,
    concurrentPerIp: false,
    concurrentPerUser: false,
  },
  anomaly: { thresholds: { warn: 1e9, disconnect: 2e9, block: 3e9 } },
  http: { healthPath: false, metricsPath: false },
});
serve(http);
