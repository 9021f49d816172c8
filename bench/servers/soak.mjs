import { createServer } from 'node:http';
import { z } from 'zod';
import { memoryStore, setupWebSockets } from '../../dist/src/server/index.js';

// The soak's server: wsguard from dist/ with the library defaults, except the per-IP limits (the
// load comes from a handful of loopback addresses) and the test secret. It reports its memory
// on a timer over IPC, and answers `mem` (after a full GC) and `handles` questions.
const SECRET = 'soak-secret-soak-secret-soak-secret-0001';
const sampleMs = Number(process.env.SOAK_SAMPLE_MS ?? 1000);
const startedAt = Date.now();

const http = createServer();
const wss = setupWebSockets(http, {
  auth: { jwt: { secret: SECRET } },
  logger: false,
  store: memoryStore(),
  messages: { echo: z.object({ n: z.number(), data: z.string() }) },
  handlers: { echo: async (_ctx, payload) => payload },
  limits: {
    connectionsPerIp: { max: 1e9, windowMs: 60_000 },
    concurrentPerIp: 100_000,
  },
  // Scores are kept and decay as usual; only the thresholds are out of reach, or the soak's
  // deliberate invalid messages would add up per source address to a block.
  anomaly: { thresholds: { warn: 1e9, disconnect: 2e9, block: 3e9 } },
  ...(process.env.SOAK_DEDUPE_TTL_MS ? { dedupeTtlMs: Number(process.env.SOAK_DEDUPE_TTL_MS) } : {}),
});

function memory() {
  const u = process.memoryUsage();
  return {
    t: Date.now() - startedAt,
    heapUsed: u.heapUsed,
    heapTotal: u.heapTotal,
    rss: u.rss,
    external: u.external,
  };
}

function handles() {
  const byType = {};
  for (const h of process._getActiveHandles()) {
    const name = h?.constructor?.name ?? typeof h;
    byType[name] = (byType[name] ?? 0) + 1;
  }
  return {
    handles: process._getActiveHandles().length,
    requests: process._getActiveRequests().length,
    byType,
    sockets: wss.clients,
  };
}

const gc = () => {
  for (let i = 0; i < 3; i++) globalThis.gc?.();
};

const sampler = setInterval(
  () => process.send?.({ sample: { ...memory(), sockets: wss.clients } }),
  sampleMs,
);
sampler.unref();

process.on('message', async (m) => {
  if (m.cmd === 'mem') {
    gc();
    process.send?.({ mem: memory() });
  } else if (m.cmd === 'handles') {
    // The load closed its sockets; wait (bounded) until the server has seen every close.
    const until = Date.now() + (m.waitMs ?? 10_000);
    while (wss.clients > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    gc();
    process.send?.({ handles: { ...handles(), stats: wss.stats() } });
  }
});
process.on('uncaughtException', (err) => {
  process.send?.({ error: String(err?.stack ?? err) });
  process.exit(1);
});
process.on('unhandledRejection', (err) => {
  process.send?.({ error: `unhandled rejection: ${String(err?.stack ?? err)}` });
});
process.on('disconnect', () => process.exit(0));
http.listen(0, '127.0.0.1', () => process.send?.({ port: http.address().port }));
