import { z } from 'zod';
const dist = '/work/main/dist/src/server';
const { createGuard } = await import(`${dist}/server.js`);
const { memoryStore } = await import(`${dist}/stores/memory/index.js`);
const { outOfReach } = await import('/work/main/bench/servers/out-of-reach.ts').catch(() => ({ outOfReach: {} }));
const conns = Number(process.argv[2] ?? 1000);
const dedupeWindow = process.argv[3] === 'nodedupe' ? 0 : undefined;
const high = { rate: 1e9, burst: 1e9 };
const guard = createGuard({
  auth: { jwt: { secret: 'bench-secret-bench-secret-bench-secret-01' } },
  logger: false, maxPayload: 256 * 1024, store: memoryStore(),
  messages: { echo: z.object({ n: z.number(), data: z.string() }) },
  handlers: { echo: (_c, p) => p },
  limits: { messages: high, bytes: { rate: 1e12, burst: 1e12 }, user: { rate: 1e9, burst: 1e9 }, connectionsPerIp: false, concurrentPerIp: false, concurrentPerUser: false },
  anomaly: { thresholds: { warn: 1e9, disconnect: 2e9, block: 3e9 } },
  http: { healthPath: false, metricsPath: false },
  ...(dedupeWindow === 0 ? { dedupeWindow: 0 } : {}),
  ...(process.env.TOTAL ? { dedupeTotalBytes: Number(process.env.TOTAL) } : {}),
  ...(process.env.USERB ? { dedupeUserBytes: Number(process.env.USERB) } : {}),
});
const req = { url: '/ws', method: 'GET', headers: {}, remoteAddress: '127.0.0.1', encrypted: false };
const socket = () => ({ send: () => {}, close: () => {}, terminate: () => {}, ping: () => {}, bufferedAmount: 0, isOpen: true });
const open = Array.from({ length: conns }, (_, u) => guard.open(socket(), { ok: true, ip: `127.0.0.${u % 200}`, principal: { id: `user-${u}` } }, req));
for (const c of open) while (c.state !== 'open') await new Promise((r) => setTimeout(r, 1));
let k = 0; const small = 'x'.repeat(60);
const PER = 20000;
const times = [];
for (let r = 0; r < 40; r++) {
  const frames = Array.from({ length: PER }, (_, i) => Buffer.from(`{"id":"0-${k++}","type":"echo","payload":{"n":${k},"data":"${small}"},"csrf":"${open[i % conns].csrfToken}"}`));
  const t0 = process.cpuUsage();
  for (let i = 0; i < PER; i++) open[i % conns].handleMessage(frames[i], false);
  const t = process.cpuUsage(t0);
  await new Promise((r) => setImmediate(r));
  if (r >= 10) times.push((t.user + t.system) / PER);
}
times.sort((a, b) => a - b);
console.log(conns, process.argv[3] ?? '', 'median µs/msg', times[times.length >> 1].toFixed(2));
await guard.close({ timeoutMs: 0 });
process.exit(0);
