// Fan-out of one publication to many subscribers: wsguard channels (`wss.publish`) against
// Socket.IO rooms (`io.to(room).emit`), in the same run. Each server runs in its own process;
// the number that matters is deliveries per second of the server's own CPU (process.cpuUsage
// around the publications, until every client got every one). Run: npm run bench:fanout
// (after npm run build). Writes bench/results/fanout.{json,md}. The full `npm run bench` runs
// measureFanout() too, for its fan-out goals (with `wsguard-base` when given --baseline).
import { type ChildProcess, fork } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { SignJWT } from 'jose';
import { io as ioClient, type Socket } from 'socket.io-client';
import WebSocket from 'ws';

const SECRET = 'bench-secret-bench-secret-bench-secret-01';
const here = fileURLToPath(new URL('.', import.meta.url));
/** Deliveries per run: publications = DELIVERIES / subscribers. */
const DELIVERIES = Number(process.env.FANOUT_DELIVERIES ?? 200_000);

/** wsguard-base: the same server on another build (`WSGUARD_DIST`, the bench's --baseline). */
export type FanoutVariant = 'wsguard' | 'wsguard-base' | 'socketio';

interface Server {
  child: ChildProcess;
  port: number;
  ask<T>(cmd: Record<string, unknown>, key: string): Promise<T>;
}

async function startServer(file: string, env: NodeJS.ProcessEnv): Promise<Server> {
  const child = fork(`${here}servers/${file}`, [], { env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const port = await new Promise<number>((resolve) => {
    const on = (m: { port?: number }) => {
      if (m.port) {
        child.off('message', on);
        resolve(m.port);
      }
    };
    child.on('message', on);
  });
  return {
    child,
    port,
    ask: <T>(cmd: Record<string, unknown>, key: string) =>
      new Promise<T>((resolve) => {
        const on = (m: Record<string, unknown>) => {
          if (key in m) {
            child.off('message', on);
            resolve(m[key] as T);
          }
        };
        child.on('message', on);
        child.send(cmd);
      }),
  };
}

/** Opens `n` sockets, a few hundred at a time; each resolves when subscribed. */
async function inBatches<T>(n: number, open: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < n; i += 250) {
    out.push(...(await Promise.all(Array.from({ length: Math.min(250, n - i) }, (_, j) => open(i + j)))));
  }
  return out;
}

interface Counter {
  received: number;
  onCount?: () => void;
}

async function wsguardClients(port: number, n: number, counter: Counter) {
  const token = await new SignJWT({})
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject('bench')
    .setExpirationTime('1h')
    .sign(new TextEncoder().encode(SECRET));
  return inBatches(
    n,
    (i) =>
      new Promise<WebSocket>((resolve, reject) => {
        const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`, ['wsguard.v1', `wsguard.bearer.${token}`]);
        ws.on('error', reject);
        ws.on('message', (data) => {
          const text = data.toString();
          if (text.startsWith('{"type":"publication"')) {
            counter.received++;
            counter.onCount?.();
            return;
          }
          const m = JSON.parse(text) as { type: string; csrfToken?: string };
          if (m.type === 'auth_ok')
            ws.send(
              JSON.stringify({ id: `s${i}`, type: 'subscribe', channel: 'room:bench', csrf: m.csrfToken }),
            );
          else if (m.type === 'ack') resolve(ws);
        });
      }),
  );
}

async function socketioClients(port: number, n: number, counter: Counter) {
  return inBatches(
    n,
    () =>
      new Promise<Socket>((resolve, reject) => {
        const s = ioClient(`http://127.0.0.1:${port}`, {
          path: '/ws',
          transports: ['websocket'],
          forceNew: true,
          reconnection: false,
        });
        s.on('connect_error', reject);
        s.on('joined', () => resolve(s));
        s.on('chat', () => {
          counter.received++;
          counter.onCount?.();
        });
      }),
  );
}

/**
 * One server of `variant` with `n` subscribers, `deliveries` / n publications. `baseline`: the
 * other build's dist/ (for wsguard-base). `encodesPerPublication`: how many times the wsguard
 * server JSON-encoded a payload while publishing, per publication (1: once for all subscribers).
 */
export async function measureFanout(
  variant: FanoutVariant,
  n: number,
  baseline?: string,
  deliveries = DELIVERIES,
) {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.WSGUARD_DIST;
  if (variant === 'wsguard-base') {
    if (!baseline) throw new Error('wsguard-base needs the baseline build');
    env.WSGUARD_DIST = baseline;
  }
  const socketio = variant === 'socketio';
  const server = await startServer(socketio ? 'fanout-socketio.mjs' : 'fanout-wsguard.mjs', env);
  const counter: Counter = { received: 0 };
  const clients = socketio
    ? await socketioClients(server.port, n, counter)
    : await wsguardClients(server.port, n, counter);
  const publications = Math.max(1, Math.round(deliveries / n));
  const expected = publications * n;
  const all = new Promise<void>((resolve) => {
    counter.onCount = () => counter.received >= expected && resolve();
  });
  const cpu0 = await server.ask<NodeJS.CpuUsage>({ cmd: 'cpu' }, 'cpu');
  const t0 = performance.now();
  const published = await server.ask<{ count: number; encodes?: number }>(
    { cmd: 'publish', count: publications },
    'published',
  );
  await all;
  const seconds = (performance.now() - t0) / 1000;
  const cpu1 = await server.ask<NodeJS.CpuUsage>({ cmd: 'cpu' }, 'cpu');
  const cpuSeconds = (cpu1.user - cpu0.user + cpu1.system - cpu0.system) / 1e6;
  for (const c of clients) (c as { close(): void }).close();
  server.child.kill();
  return {
    variant,
    subscribers: n,
    publications,
    deliveries: expected,
    deliveriesPerSecond: Math.round(expected / seconds),
    serverCpuSeconds: Number(cpuSeconds.toFixed(3)),
    deliveriesPerCpuSecond: Math.round(expected / cpuSeconds),
    cpuMicrosPerDelivery: Number(((cpuSeconds * 1e6) / expected).toFixed(3)),
    encodesPerPublication:
      published.encodes === undefined ? null : Number((published.encodes / publications).toFixed(2)),
  };
}

async function main(): Promise<void> {
  const sizes = (process.env.FANOUT_SIZES ?? '1000,10000').split(',').map(Number);
  const rows: Awaited<ReturnType<typeof measureFanout>>[] = [];
  for (const n of sizes) {
    for (const variant of ['wsguard', 'socketio'] as const) {
      const row = await measureFanout(variant, n);
      console.log(JSON.stringify(row));
      rows.push(row);
    }
  }
  const md = [
    '| subscribers | server | publications | deliveries/s (wall) | server CPU µs / delivery | deliveries / server CPU-s | vs Socket.IO | payload encodes / publication |',
    '| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...rows.map((r) => {
      const io = rows.find((x) => x.variant === 'socketio' && x.subscribers === r.subscribers);
      const ratio = io ? (r.deliveriesPerCpuSecond / io.deliveriesPerCpuSecond).toFixed(2) : '';
      return `| ${r.subscribers} | ${r.variant} | ${r.publications} | ${r.deliveriesPerSecond} | ${r.cpuMicrosPerDelivery} | ${r.deliveriesPerCpuSecond} | ${r.variant === 'wsguard' ? `${ratio}x` : '1x'} | ${r.encodesPerPublication ?? '–'} |`;
    }),
  ].join('\n');
  console.log(md);
  writeFileSync(
    `${here}results/fanout.json`,
    `${JSON.stringify({ node: process.version, rows }, null, 2)}\n`,
  );
  writeFileSync(`${here}results/fanout.md`, `${md}\n`);
  process.exit(0);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
