// The load client: one process, many sockets, each keeping `inflight` messages outstanding.
// It measures throughput and round-trip latency over a window and reports over IPC.
import type { Duplex } from 'node:stream';
import { SignJWT } from 'jose';
import { io, type Socket } from 'socket.io-client';
import WebSocket from 'ws';

export type Variant =
  | 'bare'
  | 'ws-json'
  | 'ws-jose'
  | 'wsguard'
  | 'wsguard-base'
  | 'wsguard-redis'
  | 'socketio';

export interface Workload {
  variant: Variant;
  port: number;
  sockets: number;
  inflight: number;
  payloadBytes: number;
  warmupMs: number;
  /**
   * Replies (all sockets together) the warmup also waits for: by time alone, a busy machine's
   * 1 x 1 warmup is a few hundred messages and the JIT's compiles land in the measured window.
   */
  warmupMessages?: number;
  durationMs: number;
  /** Share of messages that fail validation (wsguard only). */
  invalidRatio: number;
  /** Memory and connection-setup phases: only open `sockets` connections and hold them. */
  holdOnly?: boolean;
  /** Index of this process's first socket, when several load processes share a workload. */
  firstSocket?: number;
}

export interface LoadResult {
  messages: number;
  seconds: number;
  msgsPerSec: number;
  p50us: number;
  p99us: number;
  errors: number;
}

const SECRET = 'bench-secret-bench-secret-bench-secret-01';

interface Conn {
  send(n: number): void;
  close(): void;
}

/**
 * Holds a TCP socket corked until the current tick ends, so that the messages a burst of
 * replies triggers go out in one writev: without it the client spends most of its core on
 * syscalls and, not the server, becomes the bottleneck. Every variant's client does it alike.
 */
function corker(socket: Duplex | undefined): () => void {
  if (!socket) return () => {};
  let corked = false;
  const uncork = () => {
    corked = false;
    socket.uncork();
  };
  return () => {
    if (corked) return;
    corked = true;
    socket.cork();
    process.nextTick(uncork);
  };
}

const rawSocket = (ws: unknown): Duplex | undefined => (ws as { _socket?: Duplex } | undefined)?._socket;

function quantile(sorted: Float64Array, q: number): number {
  return sorted.length === 0
    ? 0
    : (sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number);
}

async function open(
  w: Workload,
  index: number,
  token: string,
  onReply: (ok: boolean) => void,
): Promise<Conn> {
  const url = `ws://127.0.0.1:${w.port}/ws`;
  const data = 'x'.repeat(Math.max(0, w.payloadBytes - 40));
  if (w.variant === 'socketio') {
    const s: Socket = io(`http://127.0.0.1:${w.port}`, {
      path: '/ws',
      transports: ['websocket'],
      reconnection: false,
    });
    await new Promise<void>((r, j) => {
      s.once('connect', () => r());
      s.once('connect_error', j);
    });
    const cork = corker(
      rawSocket((s.io as unknown as { engine?: { transport?: { ws?: unknown } } }).engine?.transport?.ws),
    );
    return {
      send: (n) => {
        cork();
        s.emit('echo', { n, data }, () => onReply(true));
      },
      close: () => s.close(),
    };
  }
  // Spread over 127.0.0.1-8 as source addresses: tens of thousands of connections (and the
  // TIME_WAIT they leave) would otherwise run one address out of ephemeral ports.
  const localAddress = `127.0.0.${1 + (index % 8)}`;
  const authed = w.variant.startsWith('wsguard') || w.variant === 'ws-jose';
  const ws = new WebSocket(
    url,
    authed ? { headers: { Authorization: `Bearer ${token}` }, localAddress } : { localAddress },
  );
  ws.on('error', () => {});
  let csrf = '';
  await new Promise<void>((resolve, reject) => {
    ws.once('error', reject);
    if (!authed) ws.once('open', () => resolve());
    else
      ws.on('message', function first(d) {
        const m = JSON.parse(d.toString());
        if (m.type === 'auth_ok') {
          csrf = m.csrfToken;
          ws.off('message', first);
          resolve();
        }
      });
  });
  ws.on('message', (d: Buffer) => {
    if (w.variant === 'bare') return onReply(true);
    if (w.variant === 'ws-jose') return onReply(d[2] === 0x74 && d[9] === 0x61);
    // `{"type":"ack"` or `{"type":"error"`: byte 9 tells them apart, no need to parse.
    onReply(d[9] === 0x61);
  });
  const cork = corker(rawSocket(ws));
  let k = 0;
  return {
    send: (n) => {
      cork();
      const id = `${index}-${k++}`;
      const invalid = w.invalidRatio > 0 && k % Math.round(1 / w.invalidRatio) === 0;
      if (w.variant === 'bare') ws.send(`{"n":${n},"data":"${data}"}`);
      else if (w.variant === 'ws-json' || w.variant === 'ws-jose')
        ws.send(`{"id":"${id}","payload":{"n":${n},"data":"${data}"}}`);
      else
        ws.send(
          `{"id":"${id}","type":"echo","payload":{"n":${invalid ? '"bad"' : n},"data":"${data}"},"csrf":"${csrf}"}`,
        );
    },
    close: () => ws.terminate(),
  };
}

export async function runLoad(w: Workload): Promise<LoadResult> {
  const token = await new SignJWT({})
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject('bench')
    .setExpirationTime('1h')
    .sign(new TextEncoder().encode(SECRET));
  let measuring = false;
  let done = 0;
  let replies = 0;
  let errors = 0;
  // Preallocated and grown by doubling: a plain array of hundreds of thousands of numbers
  // costs the client GC time in the measuring window.
  let latencies = new Float64Array(1 << 16);
  let samples = 0;
  const conns: Conn[] = [];
  const sentAt: number[][] = [];
  const first = w.firstSocket ?? 0;
  const openOne = async (i: number) => {
    const queue: number[] = [];
    sentAt[i] = queue;
    const conn = await open(w, first + i, token, (ok) => {
      const t0 = queue.shift() as number;
      replies++;
      if (measuring) {
        done++;
        if (!ok) errors++;
        if (samples === latencies.length) {
          const grown = new Float64Array(latencies.length * 2);
          grown.set(latencies);
          latencies = grown;
        }
        latencies[samples++] = performance.now() - t0;
      }
      if (!stopped) {
        queue.push(performance.now());
        conn.send(done);
      }
    });
    conns[i] = conn;
  };
  // Up to 32 handshakes at a time: 20,000 one after another would take minutes.
  let next = 0;
  const opener = async () => {
    while (next < w.sockets) await openOne(next++);
  };
  await Promise.all(Array.from({ length: Math.min(32, w.sockets) }, opener));
  if (w.holdOnly) {
    process.send?.({ holding: conns.length });
    await new Promise<void>((r) => process.once('message', () => r()));
    for (const c of conns) c.close();
    return { messages: 0, seconds: 0, msgsPerSec: 0, p50us: 0, p99us: 0, errors: 0 };
  }
  let stopped = false;
  for (const [i, c] of conns.entries()) {
    for (let k = 0; k < w.inflight; k++) {
      sentAt[i]?.push(performance.now());
      c.send(k);
    }
  }
  await new Promise((r) => setTimeout(r, w.warmupMs));
  while (replies < (w.warmupMessages ?? 0)) await new Promise((r) => setTimeout(r, 20));
  process.send?.({ measuring: true });
  measuring = true;
  const start = performance.now();
  await new Promise((r) => setTimeout(r, w.durationMs));
  measuring = false;
  const seconds = (performance.now() - start) / 1000;
  process.send?.({ measuring: false });
  stopped = true;
  for (const c of conns) c.close();
  const sorted = latencies.subarray(0, samples).sort();
  return {
    messages: done,
    seconds,
    msgsPerSec: done / seconds,
    p50us: Math.round(quantile(sorted, 0.5) * 1000),
    p99us: Math.round(quantile(sorted, 0.99) * 1000),
    errors,
  };
}

if (process.send) {
  process.once('message', async (w: Workload) => {
    try {
      process.send?.({ result: await runLoad(w) });
    } catch (err) {
      process.send?.({ error: String(err) });
    }
  });
}
