// npm run bench [-- --quick | --smoke]: wsguard side by side with bare ws, ws + JSON and
// Socket.IO, in one run, each server in its own process and the load in another, pinned to
// different cores when `taskset` is there. Targets 127.0.0.1 only; bounded in time.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer as createNetServer } from 'node:net';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LoadResult, Variant, Workload } from './load.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const argv = process.argv.slice(2);
const mode = argv.includes('--smoke') ? 'smoke' : argv.includes('--quick') ? 'quick' : 'full';
const outDir = argv.find((a) => a.startsWith('--out='))?.slice(6) ?? join(here, 'results');

const hasTaskset = (() => {
  try {
    execFileSync('taskset', ['-c', '0', 'true']);
    return true;
  } catch {
    return false;
  }
})();

const CONFIG = {
  full: {
    repeats: 3,
    warmupMs: 300,
    durationMs: 1200,
    sizes: [100, 1024, 60 * 1024],
    shapes: [
      [16, 16],
      [256, 1],
      [1, 1],
    ],
    memConns: 10_000,
  },
  quick: {
    repeats: 1,
    warmupMs: 200,
    durationMs: 800,
    sizes: [100, 1024],
    shapes: [
      [16, 16],
      [1, 1],
    ],
    memConns: 1000,
  },
  smoke: { repeats: 1, warmupMs: 100, durationMs: 300, sizes: [100], shapes: [[16, 16]], memConns: 0 },
}[mode];
const VARIANTS: Variant[] =
  mode === 'smoke' ? ['bare', 'wsguard'] : ['bare', 'ws-json', 'wsguard', 'socketio'];

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

function start(file: string, core: number): ChildProcess {
  // Servers are plain JS on plain node (wsguard from dist/, as users run it); the load client is TS.
  const node = file.endsWith('.ts')
    ? [process.execPath, '--import', 'tsx', join(here, file)]
    : [process.execPath, '--expose-gc', join(here, file)];
  const [cmd, ...args] = hasTaskset ? ['taskset', '-c', String(core), ...node] : node;
  return spawn(cmd as string, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
}

function ask<T>(child: ChildProcess, message: unknown, key: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const on = (m: Record<string, unknown>) => {
      if (key in m) {
        child.off('message', on);
        resolve(m[key] as T);
      } else if ('error' in m) reject(new Error(String(m.error)));
    };
    child.on('message', on);
    if (message !== undefined) child.send(message as never);
  });
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const done = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await done;
}

interface Run extends LoadResult {
  serverCpuPerSec: number;
  cpuUsPerMsg: number;
  /** The server was not the bottleneck: its core was under 70% busy. */
  clientBound: boolean;
}

async function runOne(variant: Variant, w: Omit<Workload, 'variant' | 'port'>): Promise<Run> {
  const server = start(`servers/${variant}.mjs`, 0);
  try {
    const port = await ask<number>(server, undefined, 'port');
    const load = start('load.ts', 1);
    try {
      let cpuStart: NodeJS.CpuUsage | undefined;
      let cpuEnd: NodeJS.CpuUsage | undefined;
      load.on('message', async (m: { measuring?: boolean }) => {
        if (m.measuring === true) cpuStart = await ask(server, { cmd: 'cpu' }, 'cpu');
        if (m.measuring === false) cpuEnd = await ask(server, { cmd: 'cpu' }, 'cpu');
      });
      const result = await ask<LoadResult>(load, { ...w, variant, port }, 'result');
      while (!cpuEnd) await new Promise((r) => setTimeout(r, 10));
      const cpuUs = cpuStart ? cpuEnd.user + cpuEnd.system - cpuStart.user - cpuStart.system : 0;
      const serverCpuPerSec = cpuUs / 1e6 / result.seconds;
      return {
        ...result,
        serverCpuPerSec,
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

async function memoryPerConnection(variant: Variant, n: number) {
  const server = start(`servers/${variant}.mjs`, 0);
  try {
    const port = await ask<number>(server, undefined, 'port');
    const before = await ask<{ heapUsed: number; rss: number }>(server, { cmd: 'mem' }, 'mem');
    const load = start('load.ts', 1);
    try {
      await ask(
        load,
        {
          variant,
          port,
          sockets: n,
          inflight: 0,
          payloadBytes: 100,
          warmupMs: 0,
          durationMs: 0,
          invalidRatio: 0,
          holdOnly: true,
        },
        'holding',
      );
      await new Promise((r) => setTimeout(r, 300));
      const after = await ask<{ heapUsed: number; rss: number }>(server, { cmd: 'mem' }, 'mem');
      return {
        heapPerConn: (after.heapUsed - before.heapUsed) / n,
        rssPerConn: (after.rss - before.rss) / n,
      };
    } finally {
      await stop(load);
    }
  } finally {
    await stop(server);
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

interface Row {
  workload: string;
  variant: string;
  msgsPerSec: { median: number; min: number; max: number };
  cpuUsPerMsg: number;
  p50us: number;
  p99us: number;
  clientBound: boolean;
}

async function main(): Promise<void> {
  const started = Date.now();
  // On a shared machine other processes' load moves every figure: record it with the results.
  const loadBefore = loadavg();
  const redis = mode === 'smoke' ? undefined : await startRedis();
  // The Redis row where the store's cost shows most: many sockets, and one message each.
  const withRedis = (name: string, variants: Variant[]) =>
    redis && (name === '100B 16x16' || name === '100B 256x1')
      ? [...variants, 'wsguard-redis' as const]
      : variants;
  const workloads: { name: string; w: Omit<Workload, 'variant' | 'port'>; variants: Variant[] }[] = [];
  for (const size of CONFIG.sizes) {
    for (const [sockets, inflight] of CONFIG.shapes as [number, number][]) {
      workloads.push({
        name: `${size}B ${sockets}x${inflight}`,
        variants: withRedis(`${size}B ${sockets}x${inflight}`, VARIANTS),
        w: {
          sockets,
          inflight,
          payloadBytes: size,
          warmupMs: CONFIG.warmupMs,
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
        durationMs: CONFIG.durationMs,
        invalidRatio: 0.5,
      },
      variants: ['wsguard'],
    });
  }
  const runs = new Map<string, Run[]>();
  // Variants interleaved within each repeat, so drift on the machine hits them all alike.
  for (let rep = 0; rep < CONFIG.repeats; rep++) {
    for (const { name, w, variants } of workloads) {
      for (const v of variants) {
        const r = await runOne(v, w);
        const key = `${name}|${v}`;
        runs.set(key, [...(runs.get(key) ?? []), r]);
        console.log(
          `${`[${rep + 1}/${CONFIG.repeats}] ${name}`.padEnd(36)} ${v.padEnd(9)} ${Math.round(r.msgsPerSec).toString().padStart(8)} msg/s  p50 ${r.p50us} us  ${r.cpuUsPerMsg.toFixed(1)} us CPU/msg${r.clientBound ? '  (client-bound)' : ''}`,
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
      p50us: median(rs.map((r) => r.p50us)),
      p99us: median(rs.map((r) => r.p99us)),
      clientBound: rs.some((r) => r.clientBound),
    };
  });
  const get = (workload: string, variant: string) =>
    rows.find((r) => r.workload === workload && r.variant === variant);
  const ratio = (a?: number, b?: number) => (a && b ? Math.round((a / b) * 100) / 100 : null);
  const ratios: Record<string, Record<string, number | null>> = {};
  // Messages per server CPU-second, as a ratio: unlike msgs/s it does not depend on whether the
  // load client kept up (on a 2-core machine it often cannot for the lighter servers).
  const cpuRatios: Record<string, Record<string, number | null>> = {};
  for (const { name } of workloads.filter((x) => x.variants.length > 1)) {
    const g = get(name, 'wsguard')?.msgsPerSec.median;
    ratios[name] = {
      'wsguard/bare': ratio(g, get(name, 'bare')?.msgsPerSec.median),
      'wsguard/ws-json': ratio(g, get(name, 'ws-json')?.msgsPerSec.median),
      'wsguard/socketio': ratio(g, get(name, 'socketio')?.msgsPerSec.median),
    };
    const onRedis = get(name, 'wsguard-redis')?.msgsPerSec.median;
    if (onRedis) ratios[name]['redis/memory store'] = ratio(onRedis, g);
    const c = get(name, 'wsguard')?.cpuUsPerMsg;
    cpuRatios[name] = {
      'wsguard/bare': ratio(get(name, 'bare')?.cpuUsPerMsg, c),
      'wsguard/ws-json': ratio(get(name, 'ws-json')?.cpuUsPerMsg, c),
      'wsguard/socketio': ratio(get(name, 'socketio')?.cpuUsPerMsg, c),
    };
  }
  const valid = get('100B 16x16', 'wsguard');
  const invalid = get('100B 16x16 50% invalid', 'wsguard');
  const oneByOne =
    CONFIG.sizes.includes(100) && (CONFIG.shapes as number[][]).some(([s, i]) => s === 1 && i === 1);
  const memory: Record<string, { heapPerConn: number; rssPerConn: number }> = {};
  if (CONFIG.memConns > 0) {
    for (const v of ['bare', 'wsguard', 'socketio'] as Variant[]) {
      memory[v] = await memoryPerConnection(v, CONFIG.memConns);
      console.log(
        `memory ${v.padEnd(9)} heap ${Math.round(memory[v].heapPerConn)} B/conn, rss ${Math.round(memory[v].rssPerConn)} B/conn (${CONFIG.memConns} connections)`,
      );
    }
  }
  const summary = {
    'invalid/valid msgs per s (100B 16x16)': ratio(invalid?.msgsPerSec.median, valid?.msgsPerSec.median),
    'invalid/valid server CPU per msg': ratio(invalid?.cpuUsPerMsg, valid?.cpuUsPerMsg),
    'added p50 latency at 1x1, us': oneByOne
      ? (get('100B 1x1', 'wsguard')?.p50us ?? 0) - (get('100B 1x1', 'bare')?.p50us ?? 0)
      : null,
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
  };
  const r = (w: string, k: string) => ratios[w]?.[k] ?? null;
  const goals = [
    goal('wsguard/bare at 100B 16x16', r('100B 16x16', 'wsguard/bare'), '>=', 0.75),
    goal('wsguard/bare at 1024B 16x16', r('1024B 16x16', 'wsguard/bare'), '>=', 0.75),
    goal('wsguard/socketio at 100B 16x16', r('100B 16x16', 'wsguard/socketio'), '>=', 1.3),
    goal('wsguard/socketio at 100B 256x1', r('100B 256x1', 'wsguard/socketio'), '>=', 2.0),
    goal('added p50 latency at 1x1, us', summary['added p50 latency at 1x1, us'], '<=', 30),
    goal('invalid/valid server CPU per msg', summary['invalid/valid server CPU per msg'], '<=', 1.0),
    goal('heap per connection over bare, bytes', summary['heap per connection over bare, bytes'], '<=', 1024),
    goal('redis/memory store', summary['redis/memory store'], '>=', 0.8),
  ];
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
    rows,
    ratios,
    cpuRatios,
    summary,
    goals,
    memory,
    notes: redis
      ? ['redis/memory store: wsguard on redisStore() against a local redis-server, 100B 16x16 and 256x1']
      : ['redis/memory store: not measured (redis-server not found; apt-get install redis-server)'],
  };
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, 'latest.json'), `${JSON.stringify(result, null, 2)}\n`);
  writeFileSync(join(outDir, 'latest.md'), markdown(result));
  writeFileSync(join(outDir, 'throughput-ratios.svg'), chart(ratios));
  redis?.kill();
  console.log(`\n${markdown(result)}\nwritten to ${outDir}`);
}

interface Goal {
  goal: string;
  value: number | null;
  target: string;
  met: boolean | null;
}

function goal(name: string, value: number | null, op: '>=' | '<=', target: number): Goal {
  return {
    goal: name,
    value,
    target: `${op} ${target}`,
    met: value === null ? null : op === '>=' ? value >= target : value <= target,
  };
}

function markdown(r: {
  mode: string;
  date: string;
  node: string;
  pinned: boolean;
  cpus: number;
  loadAverage: { before: number[]; after: number[] };
  rows: Row[];
  ratios: Record<string, Record<string, number | null>>;
  cpuRatios: Record<string, Record<string, number | null>>;
  summary: Record<string, number | null>;
  goals: Goal[];
}): string {
  const lines = [
    `# wsguard benchmark (${r.mode}, ${r.date}, Node ${r.node}, ${r.pinned ? 'server and load pinned to separate cores' : 'not pinned'})`,
    '',
    `${r.cpus} CPUs; load average (1, 5, 15 min) ${r.loadAverage.before.join(', ')} at the start and ${r.loadAverage.after.join(', ')} at the end. A load above about 2 on a 2-CPU machine means other processes shared the cores with the bench, and every figure moved with them.`,
    '',
    '| workload | variant | msgs/s (median) | range | server CPU µs/msg | p50 µs | p99 µs | note |',
    '| --- | --- | ---: | --- | ---: | ---: | ---: | --- |',
    ...r.rows.map(
      (x) =>
        `| ${x.workload} | ${x.variant} | ${x.msgsPerSec.median} | ${x.msgsPerSec.min}–${x.msgsPerSec.max} | ${x.cpuUsPerMsg} | ${x.p50us} | ${x.p99us} | ${x.clientBound ? 'client-bound (invalid as a server figure)' : ''} |`,
    ),
    '',
    '| workload | wsguard/bare | wsguard/ws-json | wsguard/socketio |',
    '| --- | ---: | ---: | ---: |',
    ...Object.entries(r.ratios).map(
      ([w, x]) =>
        `| ${w} | ${x['wsguard/bare'] ?? '–'} | ${x['wsguard/ws-json'] ?? '–'} | ${x['wsguard/socketio'] ?? '–'} |`,
    ),
    '',
    'Messages per server CPU-second, wsguard over the other (independent of whether the load client kept up):',
    '',
    '| workload | wsguard/bare | wsguard/ws-json | wsguard/socketio |',
    '| --- | ---: | ---: | ---: |',
    ...Object.entries(r.cpuRatios).map(
      ([w, x]) =>
        `| ${w} | ${x['wsguard/bare'] ?? '–'} | ${x['wsguard/ws-json'] ?? '–'} | ${x['wsguard/socketio'] ?? '–'} |`,
    ),
    '',
    ...Object.entries(r.summary).map(([k, v]) => `- ${k}: ${v ?? 'n/a'}`),
    '',
    '| goal | value | target | met |',
    '| --- | ---: | --- | --- |',
    ...r.goals.map(
      (g) =>
        `| ${g.goal} | ${g.value ?? 'n/a'} | ${g.target} | ${g.met === null ? '–' : g.met ? 'yes' : 'no'} |`,
    ),
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
process.exit(0);
