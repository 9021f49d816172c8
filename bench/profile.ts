// npm run bench:profile [-- variant=wsguard sockets=16 inflight=16 bytes=100 invalid=0 ms=4000 out=DIR
//   md=FILE]
// One bench server under load with `node --cpu-prof`, then the functions that took the most
// server time (self time, from the .cpuprofile, which Chrome DevTools also opens). md=FILE
// appends the same list to FILE as a markdown section, as a share of the busy samples (idle left
// out) and in µs per message (variant=wsguard-base with WSGUARD_DIST=<old dist> for "before").
// The same processes as `npm run bench` (bench/servers/*.mjs and bench/load.ts), on 127.0.0.1.
import { fork } from 'node:child_process';
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
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

/** The main thread's profile: the largest file (a tsx loader thread may write another). */
function profileFile(dir: string): string | undefined {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .map((f) => join(dir, f))
    .sort((a, b) => statSync(b).size - statSync(a).size)[0];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  startTime: number;
  endTime: number;
}

/** Self time by function, in samples, busiest first. */
function selfTimes(p: Profile): [string, number][] {
  const byId = new Map(p.nodes.map((x) => [x.id, x]));
  const self = new Map<string, number>();
  for (const id of p.samples) {
    const f = byId.get(id)?.callFrame;
    const key = f
      ? `${f.functionName || '(anonymous)'} ${f.url.split('/').slice(-2).join('/')}:${f.lineNumber + 1}`
      : '?';
    self.set(key, (self.get(key) ?? 0) + 1);
  }
  return [...self].sort((a, b) => b[1] - a[1]);
}

function top(file: string, p: Profile, n: number): string[] {
  return [
    `${file} (${p.samples.length} samples)`,
    ...selfTimes(p)
      .slice(0, n)
      .map(([k, v]) => `${((100 * v) / p.samples.length).toFixed(1).padStart(5)}%  ${k}`),
  ];
}

/** A markdown section: self time as a share of the busy samples and in µs per message. */
function markdownTop(p: Profile, n: number, result: LoadResult, shape: string): string {
  const times = selfTimes(p).filter(([k]) => !k.startsWith('(idle)'));
  const busy = times.reduce((sum, [, v]) => sum + v, 0);
  const usPerSample = (p.endTime - p.startTime) / p.samples.length;
  const messages = result.msgsPerSec * (Number(arg('ms', '4000')) / 1000);
  return [
    `## ${variant}, ${shape} (${new Date().toISOString()})`,
    '',
    `${Math.round(result.msgsPerSec)} msgs/s, ${busy} busy samples (idle left out) of ${p.samples.length}; load average ${loadavg()[0]?.toFixed(2)}. The profile covers the process's whole life, so start-up (module compilation) shows too; µs per message divide each function's time over the whole profile by the messages of the measured window, so they are upper bounds.`,
    '',
    '| # | function (self time) | % of busy | µs/msg |',
    '| ---: | --- | ---: | ---: |',
    ...times
      .slice(0, n)
      .map(
        ([k, v], i) =>
          `| ${i + 1} | \`${k}\` | ${((100 * v) / busy).toFixed(1)} | ${((v * usPerSample) / messages).toFixed(2)} |`,
      ),
    '',
  ].join('\n');
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
const file = profileFile(out);
if (!file) throw new Error(`no profile written in ${out}`);
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
console.log(top(file, profile, 30).join('\n'));
const md = arg('md', '');
if (md) {
  const shape = `${arg('sockets', '16')} x ${arg('inflight', '16')}, ${arg('bytes', '100')} B${Number(arg('invalid', '0')) > 0 ? `, ${arg('invalid', '0')} invalid` : ''}`;
  appendFileSync(md, `${markdownTop(profile, 20, result, shape)}\n`);
  console.log(`appended to ${md}`);
}
process.exit(0);
