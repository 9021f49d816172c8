// npm run bench:hostile [-- --quick] [--seconds=3] [--out=dir]: the server's CPU per attacker byte
// for each hostile input class, before and after auth, side by side with plain valid traffic, as
// ratios in one run. The server is wsguard in its own process (bench/servers/hostile.ts) with its
// limits set out of reach, so every hostile frame is handled (the server's worst case) instead of
// the attacker being cut off; its CPU comes from process.cpuUsage() over IPC, the attacker's bytes
// from its sockets' bytesWritten (handshakes and frame headers included). Classes that close the
// socket (everything before auth) reconnect for each frame. Targets 127.0.0.1 only, a bounded time
// per class (3 s; 0.3 s with --quick), and stops by itself. Not part of CI:
// test/bench/hostile-smoke.test.ts runs --quick so it does not rot.
import { type ChildProcess, fork } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SignJWT } from 'jose';
import WebSocket from 'ws';

const here = fileURLToPath(new URL('.', import.meta.url));
const argv = process.argv.slice(2);
const flag = (name: string) => argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const quick = argv.includes('--quick');
const SECONDS = Number(flag('seconds') ?? (quick ? 0.3 : 3));
const OUT = flag('out') ?? join(here, 'results');
const SECRET = 'hostile-bench-secret-hostile-bench-secret';
/** Target: every class within this factor of its valid baseline's CPU per byte. */
const TARGET = 2;
/** Frames in flight per persistent socket, and sockets (or reconnect loops) per class. */
const WINDOW = 16;
const LOOPS = 4;

const token = (sub: string) =>
  new SignJWT({})
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(sub)
    .setIssuedAt()
    .setExpirationTime('1h')
    .sign(new TextEncoder().encode(SECRET));

let ipSeq = 0;
const nextIp = () => {
  ipSeq++;
  return `10.${(ipSeq >> 16) & 255}.${(ipSeq >> 8) & 255}.${ipSeq & 255}`;
};

const BIG = 16 * 1024;
const text = (n: number) => 'x'.repeat(n);
/** A JSON envelope of about `size` bytes around a payload fragment. */
const envelope = (type: string, id: string, csrf: string, payload: string) =>
  `{"type":"${type}","id":"${id}","csrf":"${csrf}","payload":${payload}}`;
const deep = (n: number) => `${'['.repeat(n / 2)}${']'.repeat(n / 2)}`;
const wide = (n: number) => `{${'"a":0,'.repeat(Math.floor(n / 6) - 1)}"a":0}`;
const junk = (n: number) => `{"type":"echo","payload":${'{'.repeat(8)}${'x'.repeat(n)}`;

interface Session {
  ws: WebSocket;
  sock: Socket;
  csrf: string;
}

function open(port: number): Promise<{ ws: WebSocket; sock: Socket }> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`, { headers: { 'X-Forwarded-For': nextIp() } });
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve({ ws, sock: (ws as unknown as { _socket: Socket })._socket }));
    ws.once('error', reject);
  });
}

async function session(port: number, sub: string): Promise<Session> {
  const { ws, sock } = await open(port);
  ws.send(JSON.stringify({ type: 'auth', token: await token(sub) }));
  const csrf = await new Promise<string>((resolve) =>
    ws.once('message', (d) => resolve((JSON.parse(String(d)) as { csrfToken: string }).csrfToken)),
  );
  return { ws, sock, csrf };
}

type Sender = (s: Session, i: number) => void;

/** Frames sent (or connections made) by the class being measured. */
let frames = 0;

/** Persistent sockets: WINDOW frames, wait for WINDOW answers, until the deadline. Bytes written. */
async function persistent(run: Run, name: string, send: Sender, pong = false): Promise<number> {
  const { port } = run;
  const sessions = await Promise.all(Array.from({ length: LOOPS }, (_, k) => session(port, `${name}-${k}`)));
  // Only the frames are measured: the sessions' setup is the valid auth row's cost.
  await run.begin();
  const start = sessions.map((s) => s.sock.bytesWritten);
  const deadline = performance.now() + SECONDS * 1000;
  await Promise.all(
    sessions.map(async (s) => {
      let i = 0;
      while (performance.now() < deadline) {
        await new Promise<void>((resolve) => {
          let left = WINDOW;
          const done = () => {
            if (--left === 0) {
              s.ws.off('message', done);
              s.ws.off('pong', done);
              resolve();
            }
          };
          s.ws.on(pong ? 'pong' : 'message', done);
          for (let k = 0; k < WINDOW; k++) send(s, i++);
          frames += WINDOW;
        });
      }
    }),
  );
  const bytes = sessions.reduce((sum, s, k) => sum + s.sock.bytesWritten - (start[k] as number), 0);
  for (const s of sessions) s.ws.terminate();
  return bytes;
}

/** One connection per frame (the server closes after it): connect, send, wait for the close. */
async function perConnection(run: Run, first: () => Promise<string> | string, clientCloses = false) {
  const { port } = run;
  let bytes = 0;
  await run.begin();
  const deadline = performance.now() + SECONDS * 1000;
  await Promise.all(
    Array.from({ length: LOOPS }, async () => {
      while (performance.now() < deadline) {
        const { ws, sock } = await open(port);
        const frame = await first();
        await new Promise<void>((resolve) => {
          const timer = setTimeout(() => ws.terminate(), 2000);
          ws.once('close', () => {
            clearTimeout(timer);
            resolve();
          });
          if (clientCloses) ws.once('message', () => ws.close());
          ws.send(frame);
        });
        bytes += sock.bytesWritten;
        frames++;
      }
    }),
  );
  return bytes;
}

/** The server's port, and the call that starts the CPU measurement. */
interface Run {
  port: number;
  begin(): Promise<void>;
}

interface Kind {
  name: string;
  phase: 'pre-auth' | 'post-auth';
  baseline?: string;
  run(r: Run): Promise<number>;
}

const VALID_AUTH = 'valid: connect, auth, close';
const VALID_SMALL = 'valid: echo, 128 B';
const VALID_BIG = 'valid: echo, 16 KB';
const VALID_TINY = 'valid: echo, smallest (~90 B)';
const small = (s: Session, i: number) =>
  s.ws.send(envelope('echo', `v${i}`, s.csrf, `{"text":"${text(40)}"}`));
const big = (s: Session, i: number) =>
  s.ws.send(envelope('echo', `b${i}`, s.csrf, `{"text":"${text(BIG)}"}`));

const KINDS: Kind[] = [
  {
    name: VALID_AUTH,
    phase: 'pre-auth',
    run: (p) => perConnection(p, async () => `{"type":"auth","token":"${await token('valid')}"}`, true),
  },
  {
    name: 'oversized frame before auth (60 KB)',
    phase: 'pre-auth',
    baseline: VALID_AUTH,
    run: (p) => perConnection(p, () => text(60 * 1024)),
  },
  {
    name: 'deep nesting before auth (9 KB)',
    phase: 'pre-auth',
    baseline: VALID_AUTH,
    run: (p) => perConnection(p, () => `{"type":"auth","token":${deep(9000)}}`),
  },
  {
    name: 'wide object before auth (9 KB)',
    phase: 'pre-auth',
    baseline: VALID_AUTH,
    run: (p) => perConnection(p, () => `{"type":"auth","token":${wide(9000)}}`),
  },
  {
    name: 'invalid JSON before auth (9 KB)',
    phase: 'pre-auth',
    baseline: VALID_AUTH,
    run: (p) => perConnection(p, () => junk(9000)),
  },
  {
    name: 'bad token (8 KB of junk)',
    phase: 'pre-auth',
    baseline: VALID_AUTH,
    run: (p) => perConnection(p, () => `{"type":"auth","token":"${'a'.repeat(8000)}.b.c"}`),
  },
  { name: VALID_SMALL, phase: 'post-auth', run: (p) => persistent(p, 'small', small) },
  {
    name: VALID_TINY,
    phase: 'post-auth',
    run: (p) => persistent(p, 'tiny', (s, i) => s.ws.send(envelope('echo', `t${i}`, s.csrf, '{"text":""}'))),
  },
  { name: VALID_BIG, phase: 'post-auth', run: (p) => persistent(p, 'big', big) },
  {
    name: 'deep nesting (16 KB)',
    phase: 'post-auth',
    baseline: VALID_BIG,
    run: (p) => persistent(p, 'deep', (s, i) => s.ws.send(envelope('echo', `d${i}`, s.csrf, deep(BIG)))),
  },
  {
    name: 'wide object (16 KB, 2,700 keys)',
    phase: 'post-auth',
    baseline: VALID_BIG,
    run: (p) => persistent(p, 'wide', (s, i) => s.ws.send(envelope('echo', `w${i}`, s.csrf, wide(BIG)))),
  },
  {
    name: 'invalid JSON (16 KB)',
    phase: 'post-auth',
    baseline: VALID_BIG,
    run: (p) => persistent(p, 'junk', (s) => s.ws.send(junk(BIG))),
  },
  {
    name: 'unknown type (16 KB)',
    phase: 'post-auth',
    baseline: VALID_BIG,
    run: (p) =>
      persistent(p, 'unknown', (s, i) =>
        s.ws.send(envelope('nope', `u${i}`, s.csrf, `{"text":"${text(BIG)}"}`)),
      ),
  },
  {
    name: 'bad CSRF (16 KB)',
    phase: 'post-auth',
    baseline: VALID_BIG,
    run: (p) =>
      persistent(p, 'csrf', (s, i) =>
        s.ws.send(envelope('echo', `c${i}`, 'not-the-token', `{"text":"${text(BIG)}"}`)),
      ),
  },
  {
    name: 'replay flood, one id (16 KB)',
    phase: 'post-auth',
    baseline: VALID_BIG,
    run: (p) =>
      persistent(p, 'replay', (s) =>
        s.ws.send(envelope('echo', 'same-id', s.csrf, `{"text":"${text(BIG)}"}`)),
      ),
  },
  {
    name: 'replay flood, one id (128 B)',
    phase: 'post-auth',
    baseline: VALID_SMALL,
    run: (p) =>
      persistent(p, 'replay-small', (s) =>
        s.ws.send(envelope('echo', 'same-id', s.csrf, `{"text":"${text(40)}"}`)),
      ),
  },
  {
    name: 'control frames: ws ping, 125 B',
    phase: 'post-auth',
    baseline: VALID_SMALL,
    run: (p) => persistent(p, 'wsping', (s) => s.ws.ping(text(125)), true),
  },
  {
    // No `ts`: refused WSG_INVALID_MESSAGE (an `error` frame per ping), the cheapest frame to send.
    name: 'app ping flood',
    phase: 'post-auth',
    baseline: VALID_TINY,
    run: (p) => persistent(p, 'ping', (s) => s.ws.send('{"type":"ping"}')),
  },
  {
    name: 'app ping flood, with ts (answered pong)',
    phase: 'post-auth',
    baseline: VALID_TINY,
    run: (p) => persistent(p, 'ping-ts', (s, i) => s.ws.send(`{"type":"ping","ts":${1767225600000 + i}}`)),
  },
];

interface Row {
  name: string;
  phase: string;
  attackerBytes: number;
  serverCpuMs: number;
  nsPerByte: number;
  frames: number;
  usPerFrame: number;
  baseline: string | null;
  ratio: number | null;
}

async function main() {
  const child: ChildProcess = fork(join(here, 'servers/hostile.ts'), [], {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, BENCH_SECRET: SECRET },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const ask = <T>(cmd: string, key: string) =>
    new Promise<T>((resolve) => {
      const on = (m: Record<string, unknown>) => {
        if (key in m) {
          child.off('message', on);
          resolve(m[key] as T);
        }
      };
      child.on('message', on);
      child.send({ cmd });
    });
  const port = await new Promise<number>((resolve) => {
    const on = (m: { port?: number }) => {
      if (m.port) {
        child.off('message', on);
        resolve(m.port);
      }
    };
    child.on('message', on);
  });
  const rows: Row[] = [];
  try {
    // Warm-up: JIT and pools, not measured.
    await persistent({ port, begin: async () => {} }, 'warm', big);
    for (const kind of KINDS) {
      let before: NodeJS.CpuUsage = { user: 0, system: 0 };
      frames = 0;
      const bytes = await kind.run({
        port,
        begin: async () => {
          before = await ask<NodeJS.CpuUsage>('cpu', 'cpu');
        },
      });
      const after = await ask<NodeJS.CpuUsage>('cpu', 'cpu');
      const cpuUs = after.user - before.user + after.system - before.system;
      const nsPerByte = (cpuUs * 1000) / Math.max(1, bytes);
      const base = kind.baseline ? rows.find((r) => r.name === kind.baseline) : undefined;
      rows.push({
        name: kind.name,
        phase: kind.phase,
        attackerBytes: bytes,
        serverCpuMs: cpuUs / 1000,
        nsPerByte,
        frames,
        usPerFrame: cpuUs / Math.max(1, frames),
        baseline: kind.baseline ?? null,
        ratio: base ? nsPerByte / base.nsPerByte : null,
      });
      const r = rows[rows.length - 1] as Row;
      console.log(
        `${kind.phase.padEnd(9)} ${kind.name.padEnd(38)} ${(bytes / 1e6).toFixed(2).padStart(8)} MB ${r.serverCpuMs.toFixed(0).padStart(6)} ms ${nsPerByte.toFixed(2).padStart(8)} ns/B ${r.ratio === null ? '  (baseline)' : `${r.ratio.toFixed(2)}x`}`,
      );
    }
  } finally {
    child.disconnect();
    child.kill();
  }
  const worst = Math.max(...rows.map((r) => r.ratio ?? 0));
  const result = {
    mode: quick ? 'quick' : 'full',
    secondsPerClass: SECONDS,
    target: TARGET,
    worstRatio: worst,
    withinTarget: worst <= TARGET,
    node: process.version,
    rows,
  };
  mkdirSync(OUT, { recursive: true });
  writeFileSync(join(OUT, 'hostile.json'), `${JSON.stringify(result, null, 2)}\n`);
  const md = [
    `Server CPU per attacker byte (${result.mode}, ${SECONDS} s per class, ${process.version}); ratio to the named valid baseline, target <= ${TARGET}x.`,
    '',
    '| phase | input | attacker MB | frames | server CPU ms | µs/frame | ns/byte | ratio (per byte) |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...rows.map(
      (r) =>
        `| ${r.phase} | ${r.name} | ${(r.attackerBytes / 1e6).toFixed(2)} | ${r.frames} | ${r.serverCpuMs.toFixed(0)} | ${r.usPerFrame.toFixed(1)} | ${r.nsPerByte.toFixed(2)} | ${r.ratio === null ? 'baseline' : `${r.ratio.toFixed(2)}x of ${r.baseline}`} |`,
    ),
    '',
    `Worst ratio: ${worst.toFixed(2)}x (${result.withinTarget ? 'within' : 'over'} the ${TARGET}x target).`,
    '',
  ].join('\n');
  writeFileSync(join(OUT, 'hostile.md'), md);
  console.log(`worst ratio ${worst.toFixed(2)}x; results in ${OUT}/hostile.{json,md}`);
}

await main();
