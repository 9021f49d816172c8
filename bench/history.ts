// Channel history: the cost of keeping history per publication (memory store, Redis store) and
// the time to recover 1,000 missed publications through a real socket. Server and client share
// this process (the numbers include both sides). Needs redis-server on PATH for the Redis rows.
// Run: npm run bench:history. Writes bench/results/history.{json,md}.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { SignJWT } from 'jose';
import WebSocket from 'ws';
import { memoryStore, redisStore, type Store, setupWebSockets } from '../src/server/index.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const SECRET = 'bench-secret-bench-secret-bench-secret-01';
const APPENDS = Number(process.env.HISTORY_APPENDS ?? 20_000);
const RECOVER = 1000;
const REPEATS = 5;
const payload = { from: 'alice', text: 'x'.repeat(120), at: 1767225600000 };

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

async function freePort(): Promise<number> {
  const s = createNetServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function startRedis(): Promise<{ url: string; child: ChildProcess } | undefined> {
  try {
    execFileSync('sh', ['-c', 'command -v redis-server']);
  } catch {
    return undefined;
  }
  const port = await freePort();
  const child = spawn('redis-server', ['--port', String(port), '--save', '', '--appendonly', 'no'], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  await new Promise<void>((resolve) => {
    child.stdout?.on('data', (d: Buffer) => {
      if (d.toString().includes('Ready to accept')) resolve();
    });
  });
  return { url: `redis://127.0.0.1:${port}`, child };
}

async function serve(store: Store, withHistory: boolean) {
  const http = createServer();
  const wss = setupWebSockets(http, {
    auth: { jwt: { secret: SECRET } },
    logger: false,
    store,
    channels: {
      'room:{name}': withHistory
        ? { authorize: () => true, history: { size: 1000, ttlMs: 600_000 } }
        : { authorize: () => true },
    },
    limits: false,
    anomaly: false,
    http: { healthPath: false, metricsPath: false },
  });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  const port = (http.address() as { port: number }).port;
  return {
    wss,
    port,
    close: async () => {
      await wss.close({ timeoutMs: 500 });
      http.closeAllConnections();
      await new Promise<void>((r) => http.close(() => r()));
    },
  };
}

/** µs per `wss.publish` (awaited one after the other) on a channel with a subscriber-less store channel. */
async function appendCost(store: () => Promise<Store>, withHistory: boolean): Promise<number> {
  const runs: number[] = [];
  for (let r = 0; r < 3; r++) {
    const st = await store();
    const s = await serve(st, withHistory);
    for (let i = 0; i < 500; i++) await s.wss.publish('room:warm', 'chat', payload);
    const t = performance.now();
    for (let i = 0; i < APPENDS; i++) await s.wss.publish(`room:b${r}`, 'chat', payload);
    runs.push(((performance.now() - t) * 1000) / APPENDS);
    await s.close();
    await st.close();
  }
  return median(runs);
}

/** ms from sending the subscribe with `since` to the 1,000th replayed publication. */
async function recoveryTime(store: () => Promise<Store>): Promise<number> {
  const st = await store();
  const s = await serve(st, true);
  const token = await new SignJWT({})
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject('bench')
    .setExpirationTime('1h')
    .sign(new TextEncoder().encode(SECRET));
  const runs: number[] = [];
  for (let r = 0; r < REPEATS; r++) {
    const channel = `room:rec${r}`;
    for (let i = 0; i < RECOVER; i++) await s.wss.publish(channel, 'chat', payload);
    const ws = new WebSocket(`ws://127.0.0.1:${s.port}/ws`, ['wsguard.v1', `wsguard.bearer.${token}`]);
    let epoch = '';
    const ms = await new Promise<number>((resolve, reject) => {
      let got = 0;
      let t = 0;
      ws.on('error', reject);
      ws.on('message', (data) => {
        const text = data.toString();
        if (!text.startsWith('{"type":"publication"')) log(text.slice(0, 300));
        if (text.startsWith('{"type":"publication"')) {
          if (++got === RECOVER) resolve(performance.now() - t);
          return;
        }
        const m = JSON.parse(text) as { type: string; csrfToken?: string; result?: { epoch?: string } };
        if (m.type === 'auth_ok') {
          // First learn the epoch, then ask for everything after offset 0.
          ws.send(JSON.stringify({ id: `probe${r}`, type: 'subscribe', channel, csrf: m.csrfToken }));
          ws.once('message', (d) => {
            epoch = (JSON.parse(d.toString()) as { result: { epoch: string } }).result.epoch;
            ws.send(JSON.stringify({ id: `u${r}`, type: 'unsubscribe', channel, csrf: m.csrfToken }));
            t = performance.now();
            ws.send(
              JSON.stringify({
                id: 'rec',
                type: 'subscribe',
                channel,
                csrf: m.csrfToken,
                since: { epoch, offset: 0 },
              }),
            );
          });
        }
      });
    });
    runs.push(ms);
    ws.close();
  }
  await s.close();
  await st.close();
  return median(runs);
}

const log = (x: unknown) => process.env.HISTORY_DEBUG && console.error(x);

async function main() {
  const rows: { store: string; measure: string; value: number; unit: string }[] = [];
  const mem = async () => memoryStore();
  rows.push({
    store: 'memory',
    measure: 'publish, no history',
    value: await appendCost(mem, false),
    unit: 'µs',
  });
  log(rows.at(-1));
  rows.push({
    store: 'memory',
    measure: 'publish, with history',
    value: await appendCost(mem, true),
    unit: 'µs',
  });
  log(rows.at(-1));
  rows.push({ store: 'memory', measure: `recover ${RECOVER}`, value: await recoveryTime(mem), unit: 'ms' });
  const redis = await startRedis();
  if (redis) {
    // Measured only once both connections are up: before that the store serves from its fallback.
    const rs = async () => {
      const s = redisStore({ url: redis.url, commandTimeoutMs: 2000 });
      await s.ready();
      return s;
    };
    log(rows.at(-1));
    rows.push({
      store: 'redis',
      measure: 'publish, no history',
      value: await appendCost(rs, false),
      unit: 'µs',
    });
    log(rows.at(-1));
    rows.push({
      store: 'redis',
      measure: 'publish, with history',
      value: await appendCost(rs, true),
      unit: 'µs',
    });
    log(rows.at(-1));
    rows.push({ store: 'redis', measure: `recover ${RECOVER}`, value: await recoveryTime(rs), unit: 'ms' });
    redis.child.kill('SIGTERM');
  }
  const md = [
    '# Channel history',
    '',
    `Publish: median µs per awaited \`wss.publish\` over ${APPENDS} publications (3 runs), payload ~170 B, no subscriber.`,
    `Recover: median ms (${REPEATS} runs) from a subscribe with \`since\` to the ${RECOVER}th replayed publication, one socket.`,
    'Server and client in one process.',
    '',
    '| store | measure | value |',
    '| ----- | ------- | ----- |',
    ...rows.map(
      (r) => `| ${r.store} | ${r.measure} | ${r.value.toFixed(r.unit === 'µs' ? 1 : 1)} ${r.unit} |`,
    ),
    '',
  ].join('\n');
  writeFileSync(
    `${here}results/history.json`,
    `${JSON.stringify({ at: new Date().toISOString(), rows }, null, 2)}\n`,
  );
  writeFileSync(`${here}results/history.md`, md);
  console.log(md);
}

await main();
process.exit(0);
