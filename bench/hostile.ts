// npm run bench:hostile [-- --quick] [--seconds=3] [--only=ping,csrf] [--out=dir]: the server's CPU
// per attacker byte for each hostile input class, before and after auth, side by side with plain
// valid traffic, as ratios in one run. The server is wsguard in its own process
// (bench/servers/hostile.ts) with its limits set out of reach, so every hostile frame is handled
// (the server's worst case) instead of the attacker being cut off; its CPU comes from
// process.cpuUsage() over IPC. The attacker's bytes are counted twice: its sockets' bytesWritten
// (frames, handshakes included) and, on persistent sockets, what they put on the wire (`ss -ti`:
// TCP payload plus an IPv4/TCP header a segment), which is what the verdict compares where both
// rows have it. Tiny frames are sent both ways an attacker can: one write a frame (a header and a
// server wake-up each) and packed 16 to a write. Classes that close the socket (everything before
// auth) reconnect for each frame. Targets 127.0.0.1 only, a bounded time per class (3 s; 0.3 s
// with --quick), and stops by itself. Not part of CI: test/bench/hostile-smoke.test.ts runs
// --quick so it does not rot.
import { type ChildProcess, execFileSync, fork } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SignJWT } from 'jose';
import WebSocket from 'ws';
import { ask } from './ipc.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const argv = process.argv.slice(2);
const flag = (name: string) => argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const quick = argv.includes('--quick');
// --only=ping: just the classes whose name contains one of these (comma-separated), plus the
// valid baselines they are compared with.
const only = flag('only')
  ?.split(',')
  .map((x) => x.trim().toLowerCase());
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

/**
 * Bytes the attacker put on the wire per client port, from the kernel (`ss -ti`): TCP payload
 * (`bytes_sent`) plus an IPv4 + TCP header with the timestamp option per segment (`segs_out`,
 * pure ACKs included). A frame cannot reach the server without a segment around it: a flood of
 * tiny frames either pays a header per frame or packs frames into fewer segments, which also
 * wakes the server fewer times. `undefined` where `ss` is missing (not Linux).
 */
const TCP_IP_HEADER = 20 + 20 + 12;
function wireBytes(serverPort: number): Map<number, number> | undefined {
  let out: string;
  try {
    out = execFileSync('ss', ['-tinH', 'state', 'established', `( dport = :${serverPort} )`], {
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    });
  } catch {
    return undefined;
  }
  const byPort = new Map<number, number>();
  let port: number | undefined;
  for (const line of out.split('\n')) {
    if (/^\S/.test(line)) {
      const local = line.trim().split(/\s+/)[2] ?? '';
      port = Number(local.slice(local.lastIndexOf(':') + 1));
      continue;
    }
    const sent = /\bbytes_sent:(\d+)/.exec(line);
    const segs = /\bsegs_out:(\d+)/.exec(line);
    if (port !== undefined && segs)
      byPort.set(port, Number(sent?.[1] ?? 0) + TCP_IP_HEADER * Number(segs[1]));
    port = undefined;
  }
  return byPort;
}

/** Bytes the class's sockets wrote: frames (`bytesWritten`) and, where known, on the wire. */
interface Sent {
  bytes: number;
  wire?: number;
}

/**
 * Persistent sockets: WINDOW frames, wait for WINDOW answers, until the deadline. `packed`: the
 * WINDOW frames leave in one write (as a client that corks), else one write a frame, as `ws` sends.
 */
async function persistent(
  run: Run,
  name: string,
  send: Sender,
  { pong = false, packed = false, fence = false } = {},
): Promise<Sent> {
  const { port } = run;
  const sessions = await Promise.all(Array.from({ length: LOOPS }, (_, k) => session(port, `${name}-${k}`)));
  const wireAt = (m: Map<number, number> | undefined) =>
    m && sessions.every((s) => m.has(s.sock.localPort ?? -1))
      ? sessions.reduce((sum, s) => sum + (m.get(s.sock.localPort ?? -1) as number), 0)
      : undefined;
  const wireStart = wireAt(wireBytes(port));
  // Only the frames are measured: the sessions' setup is the valid auth row's cost.
  await run.begin();
  const start = sessions.map((s) => s.sock.bytesWritten);
  const deadline = performance.now() + SECONDS * 1000;
  await Promise.all(
    sessions.map(async (s) => {
      let i = 0;
      while (performance.now() < deadline) {
        await new Promise<void>((resolve) => {
          let left = fence ? 1 : WINDOW;
          const done = (data?: unknown) => {
            if (fence && !String(data).startsWith('{"type":"pong"')) return;
            if (--left === 0) {
              s.ws.off('message', done);
              s.ws.off('pong', done);
              resolve();
            }
          };
          s.ws.on(pong ? 'pong' : 'message', done);
          if (packed) s.sock.cork();
          for (let k = 0; k < WINDOW; k++) send(s, i++);
          if (packed) s.sock.uncork();
          // Frames the server does not answer each: a ping after them, answered once they are handled.
          if (fence) pingTs(s, i);
          frames += WINDOW;
        });
      }
    }),
  );
  const bytes = sessions.reduce((sum, s, k) => sum + s.sock.bytesWritten - (start[k] as number), 0);
  const wireEnd = wireAt(wireBytes(port));
  for (const s of sessions) s.ws.terminate();
  return wireStart === undefined || wireEnd === undefined ? { bytes } : { bytes, wire: wireEnd - wireStart };
}

/** One connection per frame (the server closes after it): connect, send, wait for the close. */
async function perConnection(
  run: Run,
  first: () => Promise<string> | string,
  clientCloses = false,
): Promise<Sent> {
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
  return { bytes };
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
  run(r: Run): Promise<Sent>;
}

const VALID_AUTH = 'valid: connect, auth, close';
const VALID_SMALL = 'valid: echo, 128 B';
const VALID_BIG = 'valid: echo, 16 KB';
const VALID_TINY = 'valid: echo, smallest (~90 B)';
const VALID_TINY_PACKED = 'valid: echo, smallest, packed';
const VALID_PING = 'valid: app ping with ts (pong)';
const VALID_PING_PACKED = 'valid: app ping with ts, packed';
const tiny = (s: Session, i: number) => s.ws.send(envelope('echo', `t${i}`, s.csrf, '{"text":""}'));
const barePing = (s: Session) => s.ws.send('{"type":"ping"}');
const pingTs = (s: Session, i: number) => s.ws.send(`{"type":"ping","ts":${1767225600000 + i}}`);
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
    run: (p) => persistent(p, 'tiny', tiny),
  },
  { name: VALID_BIG, phase: 'post-auth', run: (p) => persistent(p, 'big', big) },
  {
    name: 'deep nesting (16 KB)',
    phase: 'post-auth',
    baseline: VALID_BIG,
    run: (p) =>
      persistent(p, 'deep', (s, i) => s.ws.send(envelope('echo', `d${i}`, s.csrf, deep(BIG))), {
        fence: true,
      }),
  },
  {
    name: 'wide object (16 KB, 2,700 keys)',
    phase: 'post-auth',
    baseline: VALID_BIG,
    run: (p) =>
      persistent(p, 'wide', (s, i) => s.ws.send(envelope('echo', `w${i}`, s.csrf, wide(BIG))), {
        fence: true,
      }),
  },
  {
    name: 'invalid JSON (16 KB)',
    phase: 'post-auth',
    baseline: VALID_BIG,
    run: (p) => persistent(p, 'junk', (s) => s.ws.send(junk(BIG)), { fence: true }),
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
    run: (p) => persistent(p, 'wsping', (s) => s.ws.ping(text(125)), { pong: true }),
  },
  // Valid app pings (with `ts`, answered `pong`): the smallest valid message of the protocol. Their
  // ratio to the echo is valid against valid: what a frame's fixed cost (a segment, a wake-up, a
  // read) makes of a frame a third of the size. They are the baseline of the hostile pings.
  {
    name: VALID_PING,
    phase: 'post-auth',
    baseline: VALID_TINY,
    run: (p) => persistent(p, 'ping-ts', pingTs),
  },
  {
    // No `ts`: refused WSG_INVALID_MESSAGE, the cheapest frame to send (answered 10 times a
    // second per socket; a ping after each window says when the server has handled it).
    name: 'app ping flood (no ts, refused)',
    phase: 'post-auth',
    baseline: VALID_PING,
    run: (p) => persistent(p, 'ping', barePing, { fence: true }),
  },
  // The same with each window of frames in one write: fewer segments (headers) for the attacker,
  // fewer wake-ups and reads for the server.
  {
    name: VALID_TINY_PACKED,
    phase: 'post-auth',
    run: (p) => persistent(p, 'tiny-packed', tiny, { packed: true }),
  },
  {
    name: VALID_PING_PACKED,
    phase: 'post-auth',
    baseline: VALID_TINY_PACKED,
    run: (p) => persistent(p, 'ping-ts-packed', pingTs, { packed: true }),
  },
  {
    name: 'app ping flood (no ts, refused), packed',
    phase: 'post-auth',
    baseline: VALID_PING_PACKED,
    run: (p) => persistent(p, 'ping-packed', barePing, { packed: true, fence: true }),
  },
];

interface Row {
  name: string;
  phase: string;
  /** Frame bytes (`bytesWritten`: handshakes and frame headers included). */
  attackerBytes: number;
  /** Bytes on the wire (TCP payload + IPv4/TCP headers per segment), where `ss` could tell. */
  wireBytes: number | null;
  serverCpuMs: number;
  nsPerByte: number;
  nsPerWireByte: number | null;
  frames: number;
  usPerFrame: number;
  baseline: string | null;
  /** Per frame byte, against the baseline. */
  frameRatio: number | null;
  /** The verdict: per wire byte where both rows have it, else per frame byte. */
  ratio: number | null;
}

async function main() {
  const child: ChildProcess = fork(join(here, 'servers/hostile.ts'), [], {
    execArgv: ['--import', 'tsx', ...(process.env.BENCH_SERVER_ARGS?.split(' ').filter(Boolean) ?? [])],
    env: { ...process.env, BENCH_SECRET: SECRET },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const port = await ask<number>(child, undefined, 'port');
  const rows: Row[] = [];
  try {
    // Warm-up: JIT and pools, not measured.
    await persistent({ port, begin: async () => {} }, 'warm', big);
    const chosen = only ? KINDS.filter((k) => only.some((o) => k.name.toLowerCase().includes(o))) : KINDS;
    const needed = new Set(chosen.map((k) => k.baseline).filter((b) => b !== undefined));
    for (const kind of KINDS.filter((k) => chosen.includes(k) || needed.has(k.name))) {
      let before: NodeJS.CpuUsage = { user: 0, system: 0 };
      frames = 0;
      const { bytes, wire } = await kind.run({
        port,
        begin: async () => {
          before = await ask<NodeJS.CpuUsage>(child, { cmd: 'cpu' }, 'cpu');
        },
      });
      const after = await ask<NodeJS.CpuUsage>(child, { cmd: 'cpu' }, 'cpu');
      const cpuUs = after.user - before.user + after.system - before.system;
      const nsPerByte = (cpuUs * 1000) / Math.max(1, bytes);
      const nsPerWireByte = wire === undefined ? null : (cpuUs * 1000) / Math.max(1, wire);
      const base = kind.baseline ? rows.find((r) => r.name === kind.baseline) : undefined;
      const frameRatio = base ? nsPerByte / base.nsPerByte : null;
      const wireRatio =
        base?.nsPerWireByte != null && nsPerWireByte !== null ? nsPerWireByte / base.nsPerWireByte : null;
      rows.push({
        name: kind.name,
        phase: kind.phase,
        attackerBytes: bytes,
        wireBytes: wire ?? null,
        serverCpuMs: cpuUs / 1000,
        nsPerByte,
        nsPerWireByte,
        frames,
        usPerFrame: cpuUs / Math.max(1, frames),
        baseline: kind.baseline ?? null,
        frameRatio,
        ratio: wireRatio ?? frameRatio,
      });
      const r = rows[rows.length - 1] as Row;
      const perWire = nsPerWireByte === null ? '' : ` ${nsPerWireByte.toFixed(2).padStart(8)} ns/wire B`;
      console.log(
        `${kind.phase.padEnd(9)} ${kind.name.padEnd(40)} ${(bytes / 1e6).toFixed(2).padStart(8)} MB ${r.serverCpuMs.toFixed(0).padStart(6)} ms ${nsPerByte.toFixed(2).padStart(8)} ns/B${perWire} ${r.ratio === null ? '  (baseline)' : `${r.ratio.toFixed(2)}x`}`,
      );
    }
  } finally {
    child.disconnect();
    child.kill();
  }
  // Valid rows compared with another valid one show the floor; the verdict is on hostile rows.
  const worst = Math.max(...rows.filter((r) => !r.name.startsWith('valid')).map((r) => r.ratio ?? 0));
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
    `Server CPU per attacker byte (${result.mode}, ${SECONDS} s per class, ${process.version}); ratio to the named valid baseline, target <= ${TARGET}x: per byte on the wire (TCP payload + ${TCP_IP_HEADER} B of IPv4/TCP headers a segment, from \`ss -ti\`) where measured, else per frame byte.`,
    '',
    '| phase | input | frame MB | wire MB | frames | server CPU ms | µs/frame | ns/frame byte | ns/wire byte | ratio per frame byte | ratio per wire byte (verdict) |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...rows.map(
      (r) =>
        `| ${r.phase} | ${r.name} | ${(r.attackerBytes / 1e6).toFixed(2)} | ${r.wireBytes === null ? '–' : (r.wireBytes / 1e6).toFixed(2)} | ${r.frames} | ${r.serverCpuMs.toFixed(0)} | ${r.usPerFrame.toFixed(1)} | ${r.nsPerByte.toFixed(2)} | ${r.nsPerWireByte === null ? '–' : r.nsPerWireByte.toFixed(2)} | ${r.frameRatio === null ? 'baseline' : `${r.frameRatio.toFixed(2)}x`} | ${r.ratio === null ? 'baseline' : `${r.ratio.toFixed(2)}x of ${r.baseline}`} |`,
    ),
    '',
    `Worst ratio of a hostile class: ${worst.toFixed(2)}x (${result.withinTarget ? 'within' : 'over'} the ${TARGET}x target).`,
    '',
  ].join('\n');
  writeFileSync(join(OUT, 'hostile.md'), md);
  console.log(`worst ratio ${worst.toFixed(2)}x; results in ${OUT}/hostile.{json,md}`);
}

await main();
