// node --import tsx bench/one-by-one.ts [--variants=ws-json,wsguard,base] [--rounds=5] [--seconds=3]
//   [--warmup=1] [--warmup-msgs=0] [--bytes=100] [--sockets=1] [--inflight=1] [--baseline=DIR]
//   [--perf=DIR] [--server-args=a+b]
// Server CPU per message at 1 x 1 (one socket, one 100 B message in flight), the shape where the
// server sleeps in epoll between messages. Each run starts the server in its own process pinned
// to core 0 and bench/load.ts pinned to core 1, and reads the server's utime and stime from
// /proc/<pid>/stat over the measured window. Variants run in turn, round after round (A, B, A,
// B, ...), so that a shared machine's noise falls on all alike; medians and ranges at the end.
// Loopback only; every process it starts is stopped before it exits.
//   ws-json, bare, socketio bench/servers/<name>.mjs
//   wsguard                 bench/servers/wsguard.mjs on this checkout's dist/
//   base                    the same on --baseline=DIR (another build's dist/)
//   wsguard-off:a+b         bench/servers/wsguard-knobs.mjs with parts a, b turned off
//   base-off:a+b            the same on --baseline
import { type ChildProcess, spawn } from 'node:child_process';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ask } from './ipc.js';
import type { LoadResult, Variant } from './load.js';
import { hasTaskset, procCpu, spawnPinned } from './procs.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const argv = process.argv.slice(2);
const flag = (name: string) => argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const variants = (flag('variants') ?? 'ws-json,wsguard').split(',').filter(Boolean);
const rounds = Number(flag('rounds') ?? 5);
const seconds = Number(flag('seconds') ?? 3);
const warmup = Number(flag('warmup') ?? 1);
const bytes = Number(flag('bytes') ?? 100);
// --sockets=256: another shape (each socket still one message in flight unless --inflight).
const sockets = Number(flag('sockets') ?? 1);
const inflight = Number(flag('inflight') ?? 1);
// --warmup-msgs=N: the warmup lasts at least N round trips too (the JIT's compiles done by then).
const warmupMessages = Number(flag('warmup-msgs') ?? 0);
const baselineArg = flag('baseline');
const baseline = baselineArg ? resolve(baselineArg) : undefined;
if (variants.some((v) => v.startsWith('base')) && !baseline)
  throw new Error('the base variants need --baseline=DIR (the dist/ of another build)');
// --perf=DIR: `perf record -e cpu-clock` on the server over each measured window, with node's
// --perf-basic-prof so JS frames have names; DIR/<variant>-<round>.data (read with perf report).
const perfDir = flag('perf');
// --perf-calls: record call graphs too (perf record -g), to see who calls a hot builtin.
const perfCalls = argv.includes('--perf-calls');
// --server-args=a+b: more node flags for the server (e.g. --trace-deopt), `+` between them.
const serverArgs = (flag('server-args') ?? '').split('+').filter(Boolean);

/** The server's CPU so far; this bench needs /proc, so a missing reading is an error. */
function cpu(pid: number | undefined): { user: number; sys: number } {
  const c = procCpu(pid);
  if (c === undefined) throw new Error(`no /proc/${pid}/stat: one-by-one.ts needs Linux`);
  return c;
}

function server(spec: string): { file: string; env: NodeJS.ProcessEnv; load: Variant } {
  const [name = '', off = ''] = spec.split(':');
  const env: NodeJS.ProcessEnv = { ...process.env };
  if (name.startsWith('base')) env.WSGUARD_DIST = baseline as string;
  else delete env.WSGUARD_DIST;
  if (name === 'ws-json' || name === 'bare' || name === 'socketio')
    return { file: `${name}.mjs`, env, load: name };
  if (name === 'wsguard' || name === 'base') return { file: 'wsguard.mjs', env, load: 'wsguard' };
  if (name === 'wsguard-off' || name === 'base-off') {
    env.WSGUARD_BENCH_OFF = off.split('+').join(',');
    return { file: 'wsguard-knobs.mjs', env, load: 'wsguard' };
  }
  throw new Error(`unknown variant ${spec}`);
}

if (!hasTaskset) console.warn('no taskset: server and load are not pinned, figures are noisier');

function next<T>(child: ChildProcess, key: string): Promise<T> {
  return new Promise((res, rej) => {
    ask<T>(child, undefined, key).then(res, rej);
    child.once('exit', (code) => rej(new Error(`exited (${code}) before '${key}'`)));
  });
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const done = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await done;
}

interface Sample {
  user: number;
  sys: number;
  rate: number;
  p50: number;
}

async function runOne(spec: string, round: number): Promise<Sample> {
  const s = server(spec);
  const prof = perfDir ? ['--perf-basic-prof'] : [];
  const srv = spawnPinned([...prof, ...serverArgs, '--expose-gc', join(here, 'servers', s.file)], 0, s.env);
  let perf: ChildProcess | undefined;
  try {
    const port = await next<number>(srv, 'port');
    const load = spawnPinned(['--import', 'tsx', join(here, 'load.ts')], 1, process.env);
    try {
      let a: { user: number; sys: number } | undefined;
      let b: { user: number; sys: number } | undefined;
      load.on('message', (m: { measuring?: boolean }) => {
        if (m.measuring === true) {
          a = cpu(srv.pid as number);
          if (perfDir) {
            const out = join(perfDir, `${spec.replace(/[^\w-]/g, '_')}-${round + 1}.data`);
            perf = spawn(
              'perf',
              [
                'record',
                '-q',
                ...(perfCalls ? ['-g'] : []),
                '-e',
                'cpu-clock',
                '-F',
                '20000',
                '-p',
                String(srv.pid),
                '-o',
                out,
              ],
              {
                stdio: 'ignore',
              },
            );
          }
        }
        if (m.measuring === false) {
          b = cpu(srv.pid as number);
          perf?.kill('SIGINT');
        }
      });
      const result = next<LoadResult>(load, 'result');
      load.send({
        variant: s.load,
        port,
        sockets,
        inflight,
        payloadBytes: bytes,
        warmupMs: warmup * 1000,
        warmupMessages,
        durationMs: seconds * 1000,
        invalidRatio: 0,
      });
      const r = await result;
      if (!a || !b || r.messages === 0) throw new Error(`${spec}: no measurement`);
      if (r.errors) throw new Error(`${spec}: ${r.errors} error replies`);
      return {
        user: (b.user - a.user) / r.messages,
        sys: (b.sys - a.sys) / r.messages,
        rate: r.msgsPerSec,
        p50: r.p50us,
      };
    } finally {
      await stop(load);
      if (perf && perf.exitCode === null) await new Promise((r) => perf?.once('exit', r));
    }
  } finally {
    await stop(srv);
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};
const f1 = (x: number) => x.toFixed(1);
const range = (xs: number[]) => `${f1(Math.min(...xs))}-${f1(Math.max(...xs))}`;

const samples = new Map<string, Sample[]>(variants.map((v) => [v, []]));
const loads: number[] = [loadavg()[0] as number];
for (let round = 0; round < rounds; round++) {
  // Each round in another order: the first run after a pause is not always the same variant.
  const order = round % 2 ? [...variants].reverse() : variants;
  for (const v of order) {
    const s = await runOne(v, round);
    samples.get(v)?.push(s);
    console.log(
      `round ${round + 1} ${v}: user ${f1(s.user)} sys ${f1(s.sys)} µs/msg, ${Math.round(s.rate)} msgs/s, p50 ${s.p50} µs`,
    );
  }
  loads.push(loadavg()[0] as number);
}
console.log(`\nload average (1 min) during the runs: ${range(loads)}`);
console.log('variant | user µs/msg median (range) | sys µs/msg median (range) | total | msgs/s | p50 µs');
for (const [v, ss] of samples) {
  const u = ss.map((s) => s.user);
  const y = ss.map((s) => s.sys);
  const t = ss.map((s) => s.user + s.sys);
  console.log(
    `${v} | ${f1(median(u))} (${range(u)}) | ${f1(median(y))} (${range(y)}) | ${f1(median(t))} (${range(t)}) | ${Math.round(median(ss.map((s) => s.rate)))} | ${median(ss.map((s) => s.p50))}`,
  );
}
