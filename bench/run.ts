// npm run bench [-- --quick | --smoke]: wsguard side by side with bare ws, ws + JSON and
// Socket.IO, in one run, each server in its own process and the load in another, pinned to
// different cores when `taskset` is there. Targets 127.0.0.1 only; bounded in time.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createServer as createNetServer } from 'node:net';
import { availableParallelism, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type FanoutVariant, measureFanout } from './fanout.js';
import { ask, holdRequest } from './ipc.js';
import type { LoadResult, Variant, Workload } from './load.js';
import { hasTaskset, procCpu, spawnPinned } from './procs.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const argv = process.argv.slice(2);
const mode = argv.includes('--smoke') ? 'smoke' : argv.includes('--quick') ? 'quick' : 'full';
const outDir = argv.find((a) => a.startsWith('--out='))?.slice(6) ?? join(here, 'results');
// --baseline=DIR: an older build (`dist/`); its wsguard runs as `wsguard-base` next to this
// checkout's, in the same run, so "before" and "after" share the machine's noise.
const baselineArg = argv.find((a) => a.startsWith('--baseline='))?.slice(11);
const baseline = baselineArg ? resolve(baselineArg) : undefined;
// --only=100B 256x1,100B 16x16: just these workloads (no connection rows; `100B 16x16 50% invalid`
// is one too, and `memory` the idle-heap row); --repeats=N.
const only = argv
  .find((a) => a.startsWith('--only='))
  ?.slice(7)
  .split(',')
  .map((x) => x.trim());
const repeatsArg = Number(argv.find((a) => a.startsWith('--repeats='))?.slice(10));
if (baseline && !existsSync(join(baseline, 'src/server/index.js')))
  throw new Error(`--baseline: no build at ${baseline}/src/server/index.js`);

const SHAPES: [number, number][] = [
  [1, 1],
  [64, 4],
  [16, 16],
  [256, 1],
  [1000, 1],
];
const CONFIG = {
  full: {
    repeats: 3,
    warmupMs: 300,
    /**
     * Round trips (all sockets together) every warmup waits for besides its time: V8 compiles a
     * server's hot path after some thousands of messages, and by time alone a 1 x 1 warmup (a few
     * thousand on a quiet machine, hundreds on a busy one) left those compiles in the window.
     */
    warmupMessages: 30_000,
    durationMs: 1200,
    sizes: [100, 1024],
    shapes: SHAPES,
    only1KB: undefined,
    /** Connection setup: handshakes + auth for this many connections. */
    setupConns: 1000,
    // The file limit here is a hard 20,000 that cannot be raised (no CAP_SYS_RESOURCE), and the
    // server needs a dozen descriptors besides its sockets: 19,900 is as close to 20,000 as fits.
    memConns: 19_900,
    /** Fan-out: one publication to this many subscribers (bench/fanout.ts), wsguard vs Socket.IO. */
    fanoutSubs: 10_000,
  },
  // Every shape at 100 B, the two many-socket shapes at 1 KB: under 2 minutes on 2 busy cores.
  quick: {
    repeats: 1,
    warmupMs: 150,
    warmupMessages: 30_000,
    durationMs: 500,
    sizes: [100, 1024],
    shapes: SHAPES,
    only1KB: ['16x16', '256x1'],
    setupConns: 300,
    memConns: 1000,
    fanoutSubs: 0,
  },
  smoke: {
    repeats: 1,
    warmupMs: 100,
    warmupMessages: 0,
    durationMs: 300,
    sizes: [100],
    shapes: [[16, 16]] as [number, number][],
    only1KB: undefined,
    setupConns: 0,
    memConns: 0,
    fanoutSubs: 0,
  },
}[mode];
if (Number.isInteger(repeatsArg) && repeatsArg > 0) CONFIG.repeats = repeatsArg;
// --only=memory: just the idle-heap row (its connection count from the mode); --only=setup: just
// the connection-setup rows; --only=fanout: just the fan-out rows (10,000 subscribers unless
// quick or smoke, which have none). Any may be listed next to workload names.
const onlyMemory = only?.includes('memory') ?? false;
const onlySetup = only?.includes('setup') ?? false;
const onlyFanout = only?.includes('fanout') ?? false;
if (only) {
  if (!onlySetup) CONFIG.setupConns = 0;
  if (!onlyMemory) CONFIG.memConns = 0;
  if (!onlyFanout) CONFIG.fanoutSubs = 0;
}
const VARIANTS: Variant[] =
  mode === 'smoke'
    ? ['bare', 'wsguard']
    : mode === 'quick'
      ? ['ws-json', 'wsguard', 'socketio']
      : // Bare ws is not in the goals; with a baseline its time goes to the before/after pair.
        baseline
        ? ['ws-json', 'wsguard', 'socketio']
        : ['bare', 'ws-json', 'wsguard', 'socketio'];
if (baseline && mode !== 'smoke') VARIANTS.splice(VARIANTS.indexOf('wsguard'), 0, 'wsguard-base');

/** User plus system CPU time of a process so far, in µs, from /proc (undefined without it). */
function procCpuUs(pid: number | undefined): number | undefined {
  const c = procCpu(pid);
  return c && c.user + c.sys;
}

/** A redis-server for the Redis-store row (Debian's package), on a free port, no persistence. */
async function startRedis(): Promise<ChildProcess | undefined> {
  try {
    execFileSync('sh', ['-c', 'command -v redis-server']);
  } catch {
    return undefined;
  }
  const port = await new Promise<number>((resolve) => {
    const s = createNetServer().listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
  const redis = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  await new Promise<void>((resolve, reject) => {
    let out = '';
    redis.stdout?.on('data', (d: Buffer) => {
      out += d;
      if (out.includes('Ready to accept connections')) resolve();
    });
    redis.once('exit', () => reject(new Error(`redis-server exited: ${out}`)));
  });
  process.env.REDIS_URL = `redis://127.0.0.1:${port}`;
  return redis;
}

function start(file: string, core: number, env: NodeJS.ProcessEnv = process.env): ChildProcess {
  // Servers are plain JS on plain node (wsguard from dist/, as users run it); the load client is TS.
  const node = file.endsWith('.ts')
    ? ['--import', 'tsx', join(here, file)]
    : ['--expose-gc', join(here, file)];
  return spawnPinned(node, core, env);
}

function startServer(variant: Variant): ChildProcess {
  return start(
    `servers/${variant}.mjs`,
    0,
    variant === 'wsguard-base' ? { ...process.env, WSGUARD_DIST: baseline } : process.env,
  );
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const done = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await done;
}

interface Run extends LoadResult {
  serverCpuPerSec: number;
  clientCpuPerSec: number;
  cpuUsPerMsg: number;
  /** The server was not the bottleneck: its core was under 70% busy. */
  clientBound: boolean;
}

async function runOne(variant: Variant, w: Omit<Workload, 'variant' | 'port'>): Promise<Run> {
  const server = startServer(variant);
  try {
    const port = await ask<number>(server, undefined, 'port');
    const load = start('load.ts', 1);
    try {
      // Server and client CPU from /proc (taskset execs node, so the pid is node's), read by
      // this process at the load's marks: the server does no work to report it. Without /proc,
      // the server's own process.cpuUsage() over IPC.
      const viaProc = procCpuUs(server.pid) !== undefined;
      const serverCpu = async () =>
        viaProc
          ? (procCpuUs(server.pid) as number)
          : ((c: NodeJS.CpuUsage) => c.user + c.system)(await ask(server, { cmd: 'cpu' }, 'cpu'));
      let cpuStart: number | undefined;
      let cpuEnd: number | undefined;
      let clientStart = 0;
      let clientEnd = 0;
      load.on('message', async (m: { measuring?: boolean }) => {
        if (m.measuring === true) {
          clientStart = procCpuUs(load.pid) ?? 0;
          cpuStart = await serverCpu();
        }
        if (m.measuring === false) {
          clientEnd = procCpuUs(load.pid) ?? 0;
          cpuEnd = await serverCpu();
        }
      });
      const result = await ask<LoadResult>(load, { ...w, variant, port }, 'result');
      while (cpuEnd === undefined) await new Promise((r) => setTimeout(r, 10));
      const cpuUs = cpuStart !== undefined ? cpuEnd - cpuStart : 0;
      const serverCpuPerSec = cpuUs / 1e6 / result.seconds;
      return {
        ...result,
        serverCpuPerSec,
        clientCpuPerSec: (clientEnd - clientStart) / 1e6 / result.seconds,
        cpuUsPerMsg: result.messages ? cpuUs / result.messages : 0,
        clientBound: serverCpuPerSec < 0.7,
      };
    } finally {
      await stop(load);
    }
  } finally {
    await stop(server);
  }
}

/**
 * Opens `n` connections (authenticated where the variant authenticates) from `procs` load
 * processes and holds them; `measure` runs while they are held. Returns the server's CPU time
 * from just before the first handshake until the last connection was through.
 */
async function holding<T>(
  variant: Variant,
  n: number,
  procs: number,
  measure: (server: ChildProcess) => Promise<T>,
  /** Connections opened and closed before `before` is measured (0: from a cold server). */
  warm = 0,
): Promise<{ setupCpuUs: number; setupMs: number; before: T; after: T }> {
  const server = startServer(variant);
  const loads: ChildProcess[] = [];
  try {
    const port = await ask<number>(server, undefined, 'port');
    if (warm > 0) {
      const w = start('load.ts', 1);
      loads.push(w);
      await ask(w, holdRequest(variant, port, warm), 'holding');
      await ask(w, { release: true }, 'result');
      await stop(w);
      loads.pop();
      await new Promise((r) => setTimeout(r, 500));
    }
    const before = await measure(server);
    for (let i = 0; i < procs; i++) loads.push(start('load.ts', 1));
    // Let the load processes load their code (tsx, jose, ws) before the clock starts.
    await Promise.all(loads.map((l) => new Promise((r) => l.once('spawn', r))));
    await new Promise((r) => setTimeout(r, 1500));
    const cpu0 = procCpuUs(server.pid) ?? 0;
    const t0 = performance.now();
    const per = Math.ceil(n / procs);
    await Promise.all(
      loads.map((l, i) => ask(l, holdRequest(variant, port, Math.min(per, n - i * per), i * per), 'holding')),
    );
    const setupMs = performance.now() - t0;
    const setupCpuUs = (procCpuUs(server.pid) ?? 0) - cpu0;
    await new Promise((r) => setTimeout(r, 300));
    const after = await measure(server);
    return { setupCpuUs, setupMs, before, after };
  } finally {
    for (const l of loads) await stop(l);
    await stop(server);
  }
}

type Mem = { heapUsed: number; rss: number };
const mem = (server: ChildProcess) => ask<Mem>(server, { cmd: 'mem' }, 'mem');

/**
 * Connections opened and closed before the idle-heap baseline: code compiled and caches filled
 * on first use are paid once per process, not per connection, and from a cold start they made
 * the figure move by some 150 bytes a connection from run to run. Every variant alike.
 * --memory-warm=0 measures from a cold server instead.
 */
const memoryWarm = Number(argv.find((a) => a.startsWith('--memory-warm='))?.slice(14) ?? 200);

async function memoryPerConnection(variant: Variant, n: number) {
  // Two load processes above 10,000 connections: each holds one descriptor per socket too.
  const { before, after } = await holding(variant, n, n > 10_000 ? 2 : 1, mem, memoryWarm);
  return {
    connections: n,
    heapPerConn: (after.heapUsed - before.heapUsed) / n,
    rssPerConn: (after.rss - before.rss) / n,
  };
}

/** Server CPU per connection to get `n` connections through the handshake (and auth). */
async function setupCost(variant: Variant, n: number) {
  const r = await holding(variant, n, 1, async () => 0);
  return { connections: n, cpuUsPerConn: r.setupCpuUs / n, connsPerSec: (n / r.setupMs) * 1000 };
}

/** A row's caveats: a client-bound row, and refusals where every message was valid. */
function rowNote(x: Row): string {
  const notes: string[] = [];
  if (x.clientBound) notes.push('client-bound (invalid as a server figure)');
  if (x.refused > 0 && !x.workload.includes('invalid')) notes.push(`${x.refused} valid messages refused`);
  return notes.join('; ');
}

/** `repeats` passes over `variants`, interleaved so drift hits them alike; each variant's results in order. */
async function interleaved<V extends string, R>(
  repeats: number,
  variants: V[],
  run: (v: V, rep: number) => Promise<R>,
): Promise<Map<V, R[]>> {
  const out = new Map<V, R[]>();
  for (let rep = 0; rep < repeats; rep++) {
    for (const v of variants) out.set(v, [...(out.get(v) ?? []), await run(v, rep)]);
  }
  return out;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

/** The median of each of `keys` over the repeats of one variant. */
function medians<R extends Record<K, number>, K extends keyof R>(rs: R[], keys: K[]): Record<K, number> {
  const out = {} as Record<K, number>;
  for (const k of keys) out[k] = median(rs.map((x) => x[k]));
  return out;
}

interface FanoutRow {
  subscribers: number;
  publications: number;
  cpuUsPerDelivery: number;
  deliveriesPerCpuSecond: number;
  /** The most payload encodes per publication over the repeats (null: not counted, Socket.IO). */
  encodesPerPublication: number | null;
}

interface Row {
  workload: string;
  variant: string;
  msgsPerSec: { median: number; min: number; max: number };
  cpuUsPerMsg: number;
  /** Share of one core the server (client) used over the window, median of the repeats. */
  serverBusy: number;
  clientBusy: number;
  p50us: number;
  p99us: number;
  clientBound: boolean;
  /** Replies that were `error`, all repeats: a valid workload must have none. */
  refused: number;
}

async function main(): Promise<void> {
  const started = Date.now();
  // On a shared machine other processes' load moves every figure: record it with the results.
  const loadBefore = loadavg();
  // With --only, Redis only when a workload that has a Redis row is selected.
  const redisRow = (name: string) => name === '100B 16x16' || (mode === 'full' && name === '100B 256x1');
  const redisWanted = mode !== 'smoke' && !(only && !only.some(redisRow));
  const redis = redisWanted ? await startRedis() : undefined;
  // The Redis row where the store's cost shows most: many sockets, and one message each.
  const withRedis = (name: string, variants: Variant[]) =>
    redis && redisRow(name) ? [...variants, 'wsguard-redis' as const] : variants;
  const workloads: { name: string; w: Omit<Workload, 'variant' | 'port'>; variants: Variant[] }[] = [];
  for (const size of CONFIG.sizes) {
    for (const [sockets, inflight] of CONFIG.shapes as [number, number][]) {
      if (size === 1024 && CONFIG.only1KB && !CONFIG.only1KB.includes(`${sockets}x${inflight}`)) continue;
      workloads.push({
        name: `${size}B ${sockets}x${inflight}`,
        variants: withRedis(`${size}B ${sockets}x${inflight}`, VARIANTS),
        w: {
          sockets,
          inflight,
          payloadBytes: size,
          warmupMs: CONFIG.warmupMs,
          warmupMessages: CONFIG.warmupMessages,
          durationMs: CONFIG.durationMs,
          invalidRatio: 0,
        },
      });
    }
  }
  if (mode !== 'smoke') {
    workloads.push({
      name: '100B 16x16 50% invalid',
      w: {
        sockets: 16,
        inflight: 16,
        payloadBytes: 100,
        warmupMs: CONFIG.warmupMs,
        warmupMessages: CONFIG.warmupMessages,
        durationMs: CONFIG.durationMs,
        invalidRatio: 0.5,
      },
      variants: ['wsguard'],
    });
  }
  if (only) workloads.splice(0, workloads.length, ...workloads.filter((x) => only.includes(x.name)));
  const runs = new Map<string, Run[]>();
  // Variants interleaved within each repeat, so drift on the machine hits them all alike.
  for (let rep = 0; rep < CONFIG.repeats; rep++) {
    for (const { name, w, variants } of workloads) {
      for (const v of variants) {
        const r = await runOne(v, w);
        const key = `${name}|${v}`;
        runs.set(key, [...(runs.get(key) ?? []), r]);
        console.log(
          `${`[${rep + 1}/${CONFIG.repeats}] ${name}`.padEnd(36)} ${v.padEnd(12)} ${Math.round(r.msgsPerSec).toString().padStart(8)} msg/s  p50 ${r.p50us} us  ${r.cpuUsPerMsg.toFixed(1)} us CPU/msg  server ${Math.round(r.serverCpuPerSec * 100)}% client ${Math.round(r.clientCpuPerSec * 100)}% busy${r.clientBound ? '  (client-bound)' : ''}${r.errors ? `  ${r.errors} refused` : ''}`,
        );
      }
    }
  }
  const rows: Row[] = [...runs].map(([key, rs]) => {
    const [workload = '', variant = ''] = key.split('|');
    const tput = rs.map((r) => r.msgsPerSec);
    return {
      workload,
      variant,
      msgsPerSec: {
        median: Math.round(median(tput)),
        min: Math.round(Math.min(...tput)),
        max: Math.round(Math.max(...tput)),
      },
      cpuUsPerMsg: Math.round(median(rs.map((r) => r.cpuUsPerMsg)) * 10) / 10,
      serverBusy: Math.round(median(rs.map((r) => r.serverCpuPerSec)) * 100) / 100,
      clientBusy: Math.round(median(rs.map((r) => r.clientCpuPerSec)) * 100) / 100,
      p50us: median(rs.map((r) => r.p50us)),
      p99us: median(rs.map((r) => r.p99us)),
      clientBound: rs.some((r) => r.clientBound),
      refused: rs.reduce((n, r) => n + r.errors, 0),
    };
  });
  const get = (workload: string, variant: string) =>
    rows.find((r) => r.workload === workload && r.variant === variant);
  const ratio = (a?: number, b?: number) => (a && b ? Math.round((a / b) * 100) / 100 : null);
  const ratios: Record<string, Record<string, number | null>> = {};
  // Messages per server CPU-second, as a ratio: unlike msgs/s it does not depend on whether the
  // load client kept up (on a 2-core machine it often cannot for the lighter servers).
  const cpuRatios: Record<string, Record<string, number | null>> = {};
  const shapeNames = workloads.filter((x) => x.variants.length > 1).map((x) => x.name);
  for (const name of shapeNames) {
    ratios[name] = {};
    cpuRatios[name] = {};
    for (const mine of ['wsguard', 'wsguard-base'] as const) {
      const g = get(name, mine);
      if (!g) continue;
      const tag = mine === 'wsguard' ? 'wsguard' : 'before';
      for (const other of ['bare', 'ws-json', 'socketio'] as const) {
        ratios[name][`${tag}/${other}`] = ratio(g.msgsPerSec.median, get(name, other)?.msgsPerSec.median);
        cpuRatios[name][`${tag}/${other}`] = ratio(get(name, other)?.cpuUsPerMsg, g.cpuUsPerMsg);
      }
    }
    const onRedis = get(name, 'wsguard-redis')?.msgsPerSec.median;
    if (onRedis) ratios[name]['redis/memory store'] = ratio(onRedis, get(name, 'wsguard')?.msgsPerSec.median);
  }
  const valid = get('100B 16x16', 'wsguard');
  const invalid = get('100B 16x16 50% invalid', 'wsguard');
  const memory: Record<string, { connections: number; heapPerConn: number; rssPerConn: number }> = {};
  const setup: Record<string, { connections: number; cpuUsPerConn: number; connsPerSec: number }> = {};
  const withBase = (vs: Variant[]) => (baseline ? [...vs, 'wsguard-base' as const] : vs);
  if (CONFIG.setupConns > 0) {
    // --repeats times, variants interleaved, medians kept: one pass of 1,000 handshakes moved by
    // 10% from run to run.
    const runs = await interleaved(CONFIG.repeats, withBase(['ws-jose', 'wsguard']), async (v, rep) => {
      const r = await setupCost(v, CONFIG.setupConns);
      console.log(
        `setup [${rep + 1}/${CONFIG.repeats}] ${v.padEnd(12)} ${r.cpuUsPerConn.toFixed(0)} us server CPU/conn, ${Math.round(r.connsPerSec)} conns/s (${CONFIG.setupConns} connections)`,
      );
      return r;
    });
    for (const [v, rs] of runs) {
      setup[v] = { connections: CONFIG.setupConns, ...medians(rs, ['cpuUsPerConn', 'connsPerSec']) };
    }
  }
  if (CONFIG.memConns > 0) {
    // Socket.IO's figure is for reference only, and 20,000 of its clients cost the load minutes.
    const vs: Variant[] = CONFIG.memConns > 2000 ? ['bare', 'wsguard'] : ['bare', 'wsguard', 'socketio'];
    // Once in a whole run; with --only=memory, --repeats times (variants interleaved), medians kept.
    const memRepeats = onlyMemory ? CONFIG.repeats : 1;
    const runs = await interleaved(memRepeats, withBase(vs), async (v, rep) => {
      const m = await memoryPerConnection(v, CONFIG.memConns);
      console.log(
        `memory${memRepeats > 1 ? ` [${rep + 1}/${memRepeats}]` : ''} ${v.padEnd(12)} heap ${Math.round(m.heapPerConn)} B/conn, rss ${Math.round(m.rssPerConn)} B/conn (${CONFIG.memConns} connections)`,
      );
      return m;
    });
    for (const [v, ms] of runs) {
      memory[v] = { connections: CONFIG.memConns, ...medians(ms, ['heapPerConn', 'rssPerConn']) };
    }
  }
  const fanout: Record<string, FanoutRow> = {};
  if (CONFIG.fanoutSubs > 0) {
    // Once in a whole run (each pass opens 10,000 sockets per server); with --only=fanout,
    // --repeats times, medians kept.
    const fanRepeats = onlyFanout ? CONFIG.repeats : 1;
    const vs: FanoutVariant[] = baseline ? ['socketio', 'wsguard-base', 'wsguard'] : ['socketio', 'wsguard'];
    const runs = await interleaved(fanRepeats, vs, async (v, rep) => {
      const r = await measureFanout(v, CONFIG.fanoutSubs, baseline);
      console.log(
        `fan-out${fanRepeats > 1 ? ` [${rep + 1}/${fanRepeats}]` : ''} ${v.padEnd(12)} ${r.cpuMicrosPerDelivery} us server CPU/delivery, ${r.deliveriesPerCpuSecond} deliveries/CPU-s (${r.subscribers} subscribers, ${r.publications} publications${r.encodesPerPublication === null ? '' : `, ${r.encodesPerPublication} payload encodes each`})`,
      );
      return r;
    });
    for (const [v, rs] of runs) {
      const encodes = rs.map((x) => x.encodesPerPublication);
      fanout[v] = {
        subscribers: CONFIG.fanoutSubs,
        publications: rs[0]?.publications ?? 0,
        cpuUsPerDelivery: median(rs.map((x) => x.cpuMicrosPerDelivery)),
        deliveriesPerCpuSecond: median(rs.map((x) => x.deliveriesPerCpuSecond)),
        encodesPerPublication: encodes.every((e) => e !== null) ? Math.max(...(encodes as number[])) : null,
      };
    }
  }
  const summary = {
    'invalid/valid msgs per s (100B 16x16)': ratio(invalid?.msgsPerSec.median, valid?.msgsPerSec.median),
    'invalid/valid server CPU per msg': ratio(invalid?.cpuUsPerMsg, valid?.cpuUsPerMsg),
    'connection setup, server CPU per connection over ws + one jose verify': ratio(
      setup.wsguard?.cpuUsPerConn,
      setup['ws-jose']?.cpuUsPerConn,
    ),
    'heap per connection over bare, bytes':
      memory.wsguard && memory.bare ? Math.round(memory.wsguard.heapPerConn - memory.bare.heapPerConn) : null,
    'redis/memory store': ratio(
      get('100B 16x16', 'wsguard-redis')?.msgsPerSec.median,
      get('100B 16x16', 'wsguard')?.msgsPerSec.median,
    ),
    'redis/memory store, server CPU per msg': ratio(
      get('100B 16x16', 'wsguard')?.cpuUsPerMsg,
      get('100B 16x16', 'wsguard-redis')?.cpuUsPerMsg,
    ),
    'fan-out, deliveries per server CPU-second over Socket.IO': ratio(
      fanout.wsguard?.deliveriesPerCpuSecond,
      fanout.socketio?.deliveriesPerCpuSecond,
    ),
    'fan-out, payload encodes per publication': fanout.wsguard?.encodesPerPublication ?? null,
  };
  const beforeSummary = baseline
    ? {
        'invalid/valid server CPU per msg': null,
        'connection setup, server CPU per connection over ws + one jose verify': ratio(
          setup['wsguard-base']?.cpuUsPerConn,
          setup['ws-jose']?.cpuUsPerConn,
        ),
        'heap per connection over bare, bytes':
          memory['wsguard-base'] && memory.bare
            ? Math.round(memory['wsguard-base'].heapPerConn - memory.bare.heapPerConn)
            : null,
        'fan-out, deliveries per server CPU-second over Socket.IO': ratio(
          fanout['wsguard-base']?.deliveriesPerCpuSecond,
          fanout.socketio?.deliveriesPerCpuSecond,
        ),
        'fan-out, payload encodes per publication': fanout['wsguard-base']?.encodesPerPublication ?? null,
      }
    : undefined;
  const goals: Goal[] = [];
  for (const name of shapeNames.filter((n) => !n.includes('invalid'))) {
    const x = ratios[name] ?? {};
    const c = cpuRatios[name] ?? {};
    const cb = get(name, 'wsguard')?.clientBound || get(name, 'ws-json')?.clientBound;
    const note = cb ? 'client-bound: msgs/s partly measures the load client' : undefined;
    goals.push(
      goal(`${name}: wsguard/ws-json msgs/s`, x['wsguard/ws-json'], '>=', 0.9, x['before/ws-json'], note),
    );
    goals.push(
      goal(`${name}: wsguard/ws-json by server CPU`, c['wsguard/ws-json'], '>=', 0.9, c['before/ws-json']),
    );
    goals.push(
      goal(`${name}: wsguard/socketio msgs/s`, x['wsguard/socketio'], '>=', 1.3, x['before/socketio'], note),
    );
  }
  const sk = 'connection setup, server CPU per connection over ws + one jose verify';
  goals.push(
    goal('connection setup: CPU/conn over ws + jose verify', summary[sk], '<=', 1.5, beforeSummary?.[sk]),
  );
  const hk = 'heap per connection over bare, bytes';
  goals.push(
    goal(
      `idle heap/conn over bare ws, bytes (${CONFIG.memConns} conns)`,
      summary[hk],
      '<=',
      1024,
      beforeSummary?.[hk],
    ),
  );
  goals.push(
    goal('invalid/valid server CPU per msg', summary['invalid/valid server CPU per msg'], '<=', 1.0),
  );
  goals.push(goal('redis/memory store msgs/s (100B 16x16)', summary['redis/memory store'], '>=', 0.9));
  if (CONFIG.fanoutSubs > 0) {
    const fk = 'fan-out, deliveries per server CPU-second over Socket.IO';
    const ek = 'fan-out, payload encodes per publication';
    const subs = CONFIG.fanoutSubs.toLocaleString('en');
    goals.push(
      goal(
        `fan-out to ${subs}: deliveries per server CPU-s over Socket.IO`,
        summary[fk],
        '>=',
        1.5,
        beforeSummary?.[fk],
      ),
    );
    goals.push(
      goal(`fan-out to ${subs}: payload encodes per publication`, summary[ek], '<=', 1, beforeSummary?.[ek]),
    );
  }
  const result = {
    mode,
    date: new Date().toISOString(),
    node: process.version,
    pinned: hasTaskset,
    cpus: availableParallelism(),
    loadAverage: {
      before: loadBefore.map((x) => Math.round(x * 100) / 100),
      after: loadavg().map((x) => Math.round(x * 100) / 100),
    },
    seconds: Math.round((Date.now() - started) / 1000),
    baseline: baseline ?? null,
    rows,
    ratios,
    cpuRatios,
    summary,
    goals,
    memory,
    setup,
    fanout,
    notes: [
      'Server and client CPU are read from /proc/<pid>/stat (utime + stime) over the measured window.',
      '1000x1 is driven by one load process (1,000 sockets, one message in flight each); its "client busy" column shows whether it kept up.',
      redis
        ? 'redis/memory store: wsguard on redisStore() against a local redis-server'
        : redisWanted
          ? 'redis/memory store: not measured (redis-server not found; apt-get install redis-server)'
          : 'redis/memory store: not measured (not in this run)',
      CONFIG.fanoutSubs > 0
        ? 'Fan-out: one server process per variant, its subscribers in the orchestrator process; server CPU from process.cpuUsage() around the publications until every subscriber got each one (bench/fanout.ts; npm run bench:fanout also measures 1,000 subscribers).'
        : 'Fan-out: not in this run (full runs, --only=fanout, or npm run bench:fanout).',
    ],
  };
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, 'latest.json'), `${JSON.stringify(result, null, 2)}\n`);
  writeFileSync(join(outDir, 'latest.md'), markdown(result));
  writeFileSync(join(outDir, 'throughput-ratios.svg'), chart(ratios));
  redis?.kill();
  console.log(`\n${markdown(result)}\nwritten to ${outDir} in ${result.seconds} s`);
}

interface Goal {
  goal: string;
  value: number | null;
  target: string;
  met: boolean | null;
  /** The same figure for --baseline's build, in the same run. */
  before: number | null;
  note?: string;
}

function goal(
  name: string,
  value: number | null | undefined,
  op: '>=' | '<=',
  target: number,
  before?: number | null,
  note?: string,
): Goal {
  const v = value ?? null;
  return {
    goal: name,
    value: v,
    target: `${op} ${target}`,
    met: v === null ? null : op === '>=' ? v >= target : v <= target,
    before: before ?? null,
    ...(note ? { note } : {}),
  };
}

function markdown(r: {
  mode: string;
  date: string;
  node: string;
  pinned: boolean;
  cpus: number;
  seconds: number;
  baseline: string | null;
  loadAverage: { before: number[]; after: number[] };
  rows: Row[];
  ratios: Record<string, Record<string, number | null>>;
  cpuRatios: Record<string, Record<string, number | null>>;
  summary: Record<string, number | null>;
  goals: Goal[];
  setup: Record<string, { connections: number; cpuUsPerConn: number; connsPerSec: number }>;
  memory: Record<string, { connections: number; heapPerConn: number; rssPerConn: number }>;
  fanout: Record<string, FanoutRow>;
  notes: string[];
}): string {
  const f = (v: number | null | undefined) => (v === null || v === undefined ? '–' : String(v));
  const cpu = (w: string, v: string) => r.rows.find((x) => x.workload === w && x.variant === v)?.cpuUsPerMsg;
  const shapes = Object.keys(r.ratios).filter((w) => !w.includes('invalid'));
  const hasBase = r.baseline !== null;
  const lines = [
    `# wsguard benchmark (${r.mode}, ${r.date}, Node ${r.node}, ${r.pinned ? 'server and load pinned to separate cores' : 'not pinned'})`,
    '',
    `${r.cpus} CPUs; load average (1, 5, 15 min) ${r.loadAverage.before.join(', ')} at the start and ${r.loadAverage.after.join(', ')} at the end; ${r.seconds} s. A load above about 2 on a 2-CPU machine means other processes shared the cores with the bench, and every figure moved with them: compare ratios within this run, not figures across runs.`,
    ...(hasBase
      ? [
          '',
          `"before" is the build in \`${r.baseline}\` (variant \`wsguard-base\`), run side by side with this checkout's in the same run.`,
        ]
      : []),
    '',
    '| workload | variant | msgs/s (median) | range | server CPU µs/msg | server busy | client busy | p50 µs | p99 µs | note |',
    '| --- | --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | --- |',
    ...r.rows.map(
      (x) =>
        `| ${x.workload} | ${x.variant} | ${x.msgsPerSec.median} | ${x.msgsPerSec.min}–${x.msgsPerSec.max} | ${x.cpuUsPerMsg} | ${Math.round(x.serverBusy * 100)}% | ${Math.round(x.clientBusy * 100)}% | ${x.p50us} | ${x.p99us} | ${rowNote(x)} |`,
    ),
    '',
    "## By shape (the issue's table)",
    '',
    hasBase
      ? '| shape | wsguard / ws+JSON msgs/s (before → after) | by server CPU (before → after) | wsguard / Socket.IO msgs/s (before → after) | server CPU µs/msg: before, after vs ws+JSON |'
      : '| shape | wsguard / ws+JSON msgs/s | by server CPU | wsguard / Socket.IO msgs/s | server CPU µs/msg: wsguard vs ws+JSON |',
    '| --- | ---: | ---: | ---: | --- |',
    ...shapes.map((w) => {
      const x = r.ratios[w] ?? {};
      const c = r.cpuRatios[w] ?? {};
      const pair = (k: string, m: Record<string, number | null>) =>
        hasBase ? `${f(m[`before/${k}`])} → ${f(m[`wsguard/${k}`])}` : f(m[`wsguard/${k}`]);
      const us = hasBase
        ? `${f(cpu(w, 'wsguard-base'))}, ${f(cpu(w, 'wsguard'))} vs ${f(cpu(w, 'ws-json'))}`
        : `${f(cpu(w, 'wsguard'))} vs ${f(cpu(w, 'ws-json'))}`;
      return `| ${w} | ${pair('ws-json', x)} | ${pair('ws-json', c)} | ${pair('socketio', x)} | ${us} |`;
    }),
    '',
    'Messages per server CPU-second, wsguard over the other (independent of whether the load client kept up):',
    '',
    '| workload | wsguard/bare | wsguard/ws-json | wsguard/socketio |',
    '| --- | ---: | ---: | ---: |',
    ...Object.entries(r.cpuRatios).map(
      ([w, x]) =>
        `| ${w} | ${f(x['wsguard/bare'])} | ${f(x['wsguard/ws-json'])} | ${f(x['wsguard/socketio'])} |`,
    ),
    '',
    '## Connections',
    '',
    '| row | variant | connections | server CPU µs/conn | conns/s | heap B/conn | RSS B/conn |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: |',
    ...Object.entries(r.setup).map(
      ([v, x]) =>
        `| setup (upgrade + auth + session) | ${v} | ${x.connections} | ${Math.round(x.cpuUsPerConn)} | ${Math.round(x.connsPerSec)} | | |`,
    ),
    ...Object.entries(r.memory).map(
      ([v, x]) =>
        `| idle, after GC | ${v} | ${x.connections} | | | ${Math.round(x.heapPerConn)} | ${Math.round(x.rssPerConn)} |`,
    ),
    ...(Object.keys(r.fanout).length > 0
      ? [
          '',
          '## Fan-out',
          '',
          '| variant | subscribers | publications | server CPU µs/delivery | deliveries per server CPU-s | payload encodes / publication |',
          '| --- | ---: | ---: | ---: | ---: | ---: |',
          ...Object.entries(r.fanout).map(
            ([v, x]) =>
              `| ${v} | ${x.subscribers} | ${x.publications} | ${x.cpuUsPerDelivery} | ${x.deliveriesPerCpuSecond} | ${f(x.encodesPerPublication)} |`,
          ),
        ]
      : []),
    '',
    ...Object.entries(r.summary).map(([k, v]) => `- ${k}: ${v ?? 'n/a'}`),
    '',
    '## Goals',
    '',
    `| goal | ${hasBase ? 'before | ' : ''}value | target | met | note |`,
    `| --- | ${hasBase ? '---: | ' : ''}---: | --- | --- | --- |`,
    ...r.goals.map(
      (g) =>
        `| ${g.goal} | ${hasBase ? `${f(g.before)} | ` : ''}${f(g.value)} | ${g.target} | ${g.met === null ? '–' : g.met ? 'yes' : 'no'} | ${g.note ?? ''} |`,
    ),
    '',
    ...r.notes.map((n) => `- ${n}`),
    '',
  ];
  return lines.join('\n');
}

function chart(ratios: Record<string, Record<string, number | null>>): string {
  const series = ['wsguard/bare', 'wsguard/ws-json', 'wsguard/socketio'];
  const colors = ['#2f6fed', '#1f9d55', '#d69e2e'];
  const groups = Object.entries(ratios);
  const rowH = 22 * series.length + 18;
  const width = 720;
  const left = 170;
  const max = Math.max(2, ...groups.flatMap(([, x]) => series.map((s) => x[s] ?? 0)));
  const scale = (v: number) => ((width - left - 60) * v) / max;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${groups.length * rowH + 60}" font-family="sans-serif" font-size="12">`,
  ];
  parts.push(
    `<text x="10" y="18" font-size="14" font-weight="bold">Throughput ratio (higher is better; 1.0 = the same as the other)</text>`,
  );
  groups.forEach(([name, x], gi) => {
    const y0 = 34 + gi * rowH;
    parts.push(`<text x="10" y="${y0 + 14}">${name}</text>`);
    series.forEach((s, si) => {
      const v = x[s] ?? 0;
      const y = y0 + si * 22;
      parts.push(
        `<rect x="${left}" y="${y}" width="${scale(v).toFixed(1)}" height="18" fill="${colors[si]}"/>`,
      );
      parts.push(`<text x="${left + scale(v) + 4}" y="${y + 13}">${s} ${v || '–'}</text>`);
    });
  });
  const one = left + scale(1);
  parts.push(
    `<line x1="${one}" y1="28" x2="${one}" y2="${groups.length * rowH + 40}" stroke="#888" stroke-dasharray="4 3"/>`,
  );
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}

await main();
// The channel-history bench belongs to a full run (`npm run bench`). It is started from here, not
// chained in package.json, so that `npm run bench -- --quick` passes --quick to this file.
if (mode === 'full' && !only) {
  execFileSync(process.execPath, ['--import', 'tsx', join(here, 'history.ts')], { stdio: 'inherit' });
}
process.exit(0);
