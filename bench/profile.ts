// npm run bench:profile [-- variant=wsguard sockets=16 inflight=16 bytes=100 invalid=0 ms=4000 out=DIR]
// One bench server under load with `node --cpu-prof`, then the functions that took the most
// server time (self time, from the .cpuprofile, which Chrome DevTools also opens).
// The same processes as `npm run bench` (bench/servers/*.mjs and bench/load.ts), on 127.0.0.1.
import { fork } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LoadResult, Variant } from './load.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const arg = (name: string, fallback: string) =>
  process.argv.find((a) => a.startsWith(`${name}=`))?.slice(name.length + 1) ?? fallback;
const variant = arg('variant', 'wsguard') as Variant;
const out = arg('out', mkdtempSync(join(tmpdir(), 'wsguard-prof-')));

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

function top(dir: string, n: number): string[] {
  // The main thread's profile is the largest file (a tsx loader thread may write another).
  const file = readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .map((f) => join(dir, f))
    .sort((a, b) => statSync(b).size - statSync(a).size)[0];
  if (!file) return ['no profile written'];
  const p = JSON.parse(readFileSync(file, 'utf8')) as { nodes: ProfileNode[]; samples: number[] };
  const byId = new Map(p.nodes.map((x) => [x.id, x]));
  const self = new Map<string, number>();
  for (const id of p.samples) {
    const f = byId.get(id)?.callFrame;
    const key = f
      ? `${f.functionName || '(anonymous)'} ${f.url.split('/').slice(-2).join('/')}:${f.lineNumber + 1}`
      : '?';
    self.set(key, (self.get(key) ?? 0) + 1);
  }
  return [
    `${file} (${p.samples.length} samples)`,
    ...[...self]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([k, v]) => `${((100 * v) / p.samples.length).toFixed(1).padStart(5)}%  ${k}`),
  ];
}

const server = fork(join(here, `servers/${variant}.mjs`), [], {
  execArgv: ['--expose-gc', '--cpu-prof', `--cpu-prof-dir=${out}`],
  stdio: 'inherit',
});
const port = await new Promise<number>((resolve) =>
  server.on('message', (m: { port?: number }) => m.port !== undefined && resolve(m.port)),
);
const load = fork(join(here, 'load.ts'), [], { execArgv: ['--import', 'tsx'], stdio: 'inherit' });
const result = await new Promise<LoadResult>((resolve) => {
  load.on('message', (m: { result?: LoadResult }) => m.result && resolve(m.result));
  load.send({
    variant,
    port,
    sockets: Number(arg('sockets', '16')),
    inflight: Number(arg('inflight', '16')),
    payloadBytes: Number(arg('bytes', '100')),
    warmupMs: 500,
    durationMs: Number(arg('ms', '4000')),
    invalidRatio: Number(arg('invalid', '0')),
  });
});
load.kill();
// SIGINT makes the server exit normally, which is when --cpu-prof writes the profile.
await new Promise((resolve) => {
  server.once('exit', resolve);
  server.kill('SIGINT');
});
console.log(`${variant}: ${Math.round(result.msgsPerSec)} msg/s, p50 ${result.p50us} µs`);
console.log(top(out, 30).join('\n'));
process.exit(0);
