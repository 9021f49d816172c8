// node --import tsx bench/ab.ts --baseline=DIR [--per=40000] [--rounds=8]: whole messages through
// this checkout's guard and an older build's (`dist/` of another commit), in one process,
// interleaved round by round, timed by process CPU (not wall clock), median of the rounds. On a
// shared machine this is steadier than bench:stages (wall clock per task, one after the other).
// In-process (a stub socket that drops what it is sent): the pipeline's cost, not ws's or the kernel's.
import { join } from 'node:path';
import { z } from 'zod';
import { createGuard } from '../src/server/server.js';
import type { GuardSocket } from '../src/server/socket.js';
import { memoryStore } from '../src/server/stores/memory/index.js';
import { outOfReach } from './servers/out-of-reach.js';

const argv = process.argv.slice(2);
const flag = (name: string) => argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const baseline = flag('baseline');
if (!baseline) throw new Error('--baseline=DIR (a build of an older commit) is required');
const PER = Number(flag('per') ?? 40_000);
const ROUNDS = Number(flag('rounds') ?? 8);

type Impl = { createGuard: typeof createGuard; memoryStore: typeof memoryStore };
const base: Impl = {
  createGuard: (await import(join(baseline, 'src/server/server.js'))).createGuard,
  memoryStore: (await import(join(baseline, 'src/server/stores/memory/index.js'))).memoryStore,
};

/** A guard as bench/servers/wsguard.mjs sets it up, with `conns` open sockets of distinct users. */
async function setup(impl: Impl, conns: number) {
  const guard = impl.createGuard({
    auth: { jwt: { secret: 'bench-secret-bench-secret-bench-secret-01' } },
    logger: false,
    maxPayload: 256 * 1024,
    store: impl.memoryStore(),
    messages: { echo: z.object({ n: z.number(), data: z.string() }) },
    handlers: { echo: (_c: unknown, payload: unknown) => payload },
    ...outOfReach,
  });
  const req = { url: '/ws', method: 'GET', headers: {}, remoteAddress: '127.0.0.1', encrypted: false };
  const socket = (): GuardSocket => ({
    send: () => {},
    close: () => {},
    terminate: () => {},
    ping: () => {},
    bufferedAmount: 0,
    isOpen: true,
  });
  const open = Array.from({ length: conns }, (_, u) =>
    guard.open(
      socket(),
      { ok: true, ip: `127.0.0.${u % 200}`, principal: { id: `user-${u}` } } as never,
      req,
    ),
  );
  for (const c of open) while (c.state !== 'open') await new Promise((r) => setTimeout(r, 1));
  return { open, close: () => guard.close({ timeoutMs: 0 }) };
}

let k = 0;
const small = 'x'.repeat(60);
const kb = 'x'.repeat(940);
const echo = (data: string, bad: boolean) => (csrf: string) =>
  `{"id":"0-${k++}","type":"echo","payload":{"n":${bad ? '"bad"' : k},"data":"${data}"},"csrf":"${csrf}"}`;
const SHAPES: [string, number, (csrf: string) => string][] = [
  ['100 B echo, 1 socket', 1, echo(small, false)],
  ['100 B echo, 256 sockets (users) in turn', 256, echo(small, false)],
  ['100 B echo, 1,000 sockets (users) in turn', 1000, echo(small, false)],
  ['1 KB echo, 1 socket', 1, echo(kb, false)],
  ['1 KB echo, 256 sockets in turn', 256, echo(kb, false)],
  ['100 B echo, schema-invalid', 1, echo(small, true)],
  ['`{"type":"ping"}` (no ts: refused)', 1, () => '{"type":"ping"}'],
  ['`{"type":"ping","ts":…}` (pong)', 1, () => `{"type":"ping","ts":${1767225600000 + k++}}`],
];

const median = (x: number[]) => [...x].sort((a, b) => a - b)[Math.floor(x.length / 2)] as number;
const rows: string[] = [];
// What bench/servers/ws-json.mjs does per message besides ws: the floor any JSON app pays.
for (const [name, data] of [
  ['reference: JSON.parse + JSON.stringify of an ack, 100 B', small],
  ['reference: JSON.parse + JSON.stringify of an ack, 1 KB', kb],
] as const) {
  const times: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const frames = Array.from({ length: PER }, () => Buffer.from(echo(data, false)('c'.repeat(43))));
    let sink = 0;
    const t0 = process.cpuUsage();
    for (const f of frames) {
      const m = JSON.parse(f.toString()) as { id: string; payload: unknown };
      sink += JSON.stringify({ type: 'ack', id: m.id, result: m.payload }).length;
    }
    const t = process.cpuUsage(t0);
    if (sink === 0) throw new Error('unreachable');
    times.push((t.user + t.system) / PER);
  }
  rows.push(`| ${name} | | ${median(times).toFixed(2)} | |`);
}
for (const [name, conns, make] of SHAPES) {
  const now = await setup({ createGuard, memoryStore }, conns);
  const old = await setup(base, conns);
  const run = async (s: typeof now) => {
    const frames = Array.from({ length: PER }, (_, i) =>
      Buffer.from(make(s.open[i % conns]?.csrfToken as string)),
    );
    const t0 = process.cpuUsage();
    for (let i = 0; i < PER; i++) s.open[i % conns]?.handleMessage(frames[i] as Buffer, false);
    const t = process.cpuUsage(t0);
    await new Promise((r) => setImmediate(r));
    return (t.user + t.system) / PER;
  };
  const a: number[] = [];
  const b: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    b.push(await run(old));
    a.push(await run(now));
  }
  const [before, after] = [median(b), median(a)];
  rows.push(
    `| ${name} | ${before.toFixed(2)} | ${after.toFixed(2)} | ${Math.round((after / before - 1) * 100)}% |`,
  );
  console.log(rows[rows.length - 1]);
  await now.close();
  await old.close();
}
console.log(
  [
    '',
    `CPU µs per message, in-process, median of ${ROUNDS} interleaved rounds of ${PER} (before: ${baseline})`,
    '',
    '| message | before | after | change |',
    '| --- | ---: | ---: | ---: |',
    ...rows,
  ].join('\n'),
);
