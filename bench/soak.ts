// npm run soak [-- --quick | --duration=90s] [--sockets=2000] [--dedupe-ttl=10s] [--out=dir]: waves of sockets that
// connect, authenticate, send and disconnect against a wsguard server in its own process, for a
// bounded time (10 min by default, 1 min with --quick). The server's heap and RSS are sampled on a
// timer, after a full GC between waves, and idle (no sockets, TTL-bound caches expired) after the
// warm-up and at the end: the leak check. The report also gives the open handles at the end and
// every error; docs/bench.md explains it. Targets 127.0.0.1 only (from several 127.0.0.x source
// addresses, so ephemeral ports never run short). Not part of CI: `test/bench/soak-smoke.test.ts`
// runs it for a few seconds so it does not rot.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SignJWT } from 'jose';
import WebSocket from 'ws';

const here = fileURLToPath(new URL('.', import.meta.url));
const argv = process.argv.slice(2);
const flag = (name: string) => argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);

/** `90s`, `10m`, `500ms` or a number of seconds. */
export function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text.trim());
  if (!m) throw new Error(`expected a duration such as 90s, 10m or 500ms, got ${text}`);
  const n = Number(m[1]);
  return Math.round(m[2] === 'ms' ? n : m[2] === 'm' ? n * 60_000 : n * 1000);
}

const quick = argv.includes('--quick');
const durationFlag = flag('duration');
const CONFIG = {
  mode: durationFlag !== undefined ? 'custom' : quick ? 'quick' : 'full',
  durationMs: durationFlag !== undefined ? parseDuration(durationFlag) : quick ? 60_000 : 600_000,
  sockets: Number(flag('sockets') ?? 2000),
  /** Echo messages per socket per wave (one socket in 20 also sends one that fails validation). */
  messages: 3,
  /** Upgrades in progress at once while a wave connects. */
  connectConcurrency: 200,
  /** Source addresses 127.0.0.1 .. 127.0.0.N. */
  sourceAddresses: 8,
  /** Share of the run before the first idle measurement (JIT, pools and caches filling). */
  warmupFraction: 0.2,
  /** Longest a socket may take in one phase before it counts as an error. */
  phaseTimeoutMs: 30_000,
  sampleMs: quick || durationFlag !== undefined ? 500 : 2000,
  /**
   * The per-user memory bound, measured after the waves: users each sending acked ~63 KB results
   * with one CJK character (V8 keeps them two bytes a character) within the default limits.
   */
  cjk: {
    users: 3,
    socketsPerUser: 2,
    durationMs: durationFlag !== undefined ? 2000 : quick ? 8000 : 30_000,
    /** Pause between one socket's messages: ~14 a second, under the default 1 MiB/s per socket. */
    gapMs: 70,
    /** The server's documented budget (dedupeUserBytes). */
    userBudgetBytes: 256 * 1024,
  },
  /**
   * The server's dedupeTtlMs. Its cache holds the ids of the last TTL, so it grows for the first
   * TTL of a run: short runs shorten it (10 s) so the cache is at its steady size after warm-up.
   */
  dedupeTtlMs:
    flag('dedupe-ttl') !== undefined
      ? parseDuration(flag('dedupe-ttl') as string)
      : quick || durationFlag !== undefined
        ? 10_000
        : 60_000,
};
if (!(Number.isInteger(CONFIG.sockets) && CONFIG.sockets > 0))
  throw new Error('--sockets: a positive integer');
const outDir = flag('out') ?? join(here, 'results');
const SECRET = 'soak-secret-soak-secret-soak-secret-0001';
/** Before an idle measurement: every dedupe id expired and swept (the sweep runs every TTL/4). */
const idlePauseMs = CONFIG.dedupeTtlMs * 1.25 + 1000;

interface Mem {
  t: number;
  heapUsed: number;
  heapTotal: number;
  rss: number;
  external: number;
}

interface Handles {
  handles: number;
  requests: number;
  byType: Record<string, number>;
  sockets: number;
  stats?: unknown;
}

interface IdleMem extends Mem {
  label: 'after warm-up' | 'at the end';
}

interface WaveResult {
  wave: number;
  /** Ms since the run began, at the wave's end. */
  t: number;
  ms: number;
  authenticated: number;
  acked: number;
  /** Replies WSG_VALIDATION_FAILED to the deliberately invalid messages. */
  refusedAsExpected: number;
  errors: number;
  /** Server memory after the wave, all its sockets closed, after a full GC. */
  mem: Mem;
}

const errors = new Map<string, number>();
const fail = (what: string) => errors.set(what, (errors.get(what) ?? 0) + 1);

function ask<T>(child: ChildProcess, message: unknown, key: string): Promise<T> {
  return new Promise((resolve) => {
    const on = (m: Record<string, unknown>) => {
      if (!(key in m)) return;
      child.off('message', on);
      resolve(m[key] as T);
    };
    child.on('message', on);
    if (message !== undefined) child.send(message as never);
  });
}

/** Runs `task` over 0..n-1 with at most `limit` running at once. */
async function pool<T>(n: number, limit: number, task: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array(n);
  let next = 0;
  const worker = async () => {
    while (next < n) {
      const i = next++;
      out[i] = await task(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, n) }, worker));
  return out;
}

function withTimeout<T>(p: Promise<T>, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    p,
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: timeout`)), CONFIG.phaseTimeoutMs);
    }),
  ]).finally(() => clearTimeout(timer));
}

interface Conn {
  ws: WebSocket;
  csrf: string;
  closed: Promise<number>;
}

/** Opens socket `i` and waits for auth_ok; undefined (and an error counted) when that fails. */
async function connect(port: number, token: string, i: number): Promise<Conn | undefined> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`, {
    headers: { Authorization: `Bearer ${token}` },
    localAddress: `127.0.0.${1 + (i % CONFIG.sourceAddresses)}`,
  });
  const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
  try {
    const csrf = await withTimeout(
      new Promise<string>((resolve, reject) => {
        ws.once('unexpected-response', (_req, res) =>
          reject(new Error(`upgrade refused: HTTP ${res.statusCode}`)),
        );
        ws.once('error', (err) =>
          reject(new Error(`connect: ${(err as NodeJS.ErrnoException).code ?? err.message}`)),
        );
        ws.once('close', (code) => reject(new Error(`closed before auth_ok: ${code}`)));
        ws.on('message', function first(data) {
          const m = JSON.parse(data.toString());
          if (m.type !== 'auth_ok') return;
          ws.off('message', first);
          resolve(m.csrfToken);
        });
      }),
      'auth',
    );
    ws.on('error', () => {});
    return { ws, csrf, closed };
  } catch (err) {
    fail((err as Error).message);
    ws.on('error', () => {});
    ws.terminate();
    return undefined;
  }
}

/** Sends this socket's messages and waits for every reply. */
async function exchange(c: Conn, i: number, wave: number): Promise<{ acked: number; refused: number }> {
  const invalid = i % 20 === 0;
  const ids = new Set<string>();
  let acked = 0;
  let refused = 0;
  const replies = new Promise<void>((resolve, reject) => {
    c.ws.on('message', (data) => {
      const m = JSON.parse(data.toString());
      if (typeof m.id !== 'string' || !ids.delete(m.id)) return;
      if (m.type === 'ack') acked++;
      else if (m.type === 'error' && invalid && m.code === 'WSG_VALIDATION_FAILED') refused++;
      else fail(`reply ${m.type} ${m.code ?? ''}`.trim());
      if (ids.size === 0) resolve();
    });
    c.ws.once('close', (code) => reject(new Error(`closed while sending: ${code}`)));
  });
  const data = 'x'.repeat(64);
  for (let k = 0; k < CONFIG.messages + (invalid ? 1 : 0); k++) {
    const id = `${wave}-${i}-${k}`;
    ids.add(id);
    const n = invalid && k === CONFIG.messages ? '"not a number"' : String(k);
    c.ws.send(`{"id":"${id}","type":"echo","payload":{"n":${n},"data":"${data}"},"csrf":"${c.csrf}"}`);
  }
  try {
    await withTimeout(replies, 'replies');
  } catch (err) {
    fail((err as Error).message);
  }
  return { acked, refused };
}

/** Half the sockets say goodbye (1000), the other half just go (TCP closed, no close frame). */
async function disconnect(c: Conn, i: number): Promise<void> {
  if (i % 2 === 0) c.ws.close(1000);
  else c.ws.terminate();
  try {
    const code = await withTimeout(c.closed, 'close');
    if (code !== 1000 && code !== 1006) fail(`close code ${code}`);
  } catch (err) {
    fail((err as Error).message);
  }
}

async function wave(port: number, tokens: string[], n: number, t0: number): Promise<Omit<WaveResult, 'mem'>> {
  const started = Date.now();
  const errorsBefore = [...errors.values()].reduce((a, b) => a + b, 0);
  const conns = await pool(tokens.length, CONFIG.connectConcurrency, (i) =>
    connect(port, tokens[i] as string, i),
  );
  const results = await Promise.all(conns.map((c, i) => (c ? exchange(c, i, n) : { acked: 0, refused: 0 })));
  await Promise.all(conns.map((c, i) => (c ? disconnect(c, i) : undefined)));
  return {
    wave: n,
    t: Date.now() - t0,
    ms: Date.now() - started,
    authenticated: conns.filter(Boolean).length,
    acked: results.reduce((a, r) => a + r.acked, 0),
    refusedAsExpected: results.reduce((a, r) => a + r.refused, 0),
    errors: [...errors.values()].reduce((a, b) => a + b, 0) - errorsBefore,
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

/**
 * Growth of a series after warm-up: the median of its last quarter against its first quarter
 * (post-GC heap still moves by a few percent from wave to wave, with the dedupe sweep's phase).
 */
function growth(values: number[]): { from: number; to: number; percent: number } {
  const k = Math.max(1, Math.floor(values.length / 4));
  const from = median(values.slice(0, k));
  const to = median(values.slice(-k));
  return { from, to, percent: from > 0 ? Math.round(((to - from) / from) * 1000) / 10 : 0 };
}

interface CjkResult {
  users: number;
  sent: number;
  acked: number;
  refused: number;
  heapBefore: number;
  heapAfter: number;
  rssBefore: number;
  rssAfter: number;
  budgetBytes: number;
  withinBudget: boolean;
}

/**
 * The issue's attacker: a few users sending acked ~63 KB results, each with one character above
 * U+00FF, paced within the default per-socket byte limit. Heap and RSS after a full GC, before and
 * right after (the dedupe TTL has not expired them), against users x dedupeUserBytes.
 */
async function cjkAttack(server: ChildProcess, port: number): Promise<CjkResult> {
  const c = CONFIG.cjk;
  const before = await ask<Mem>(server, { cmd: 'mem' }, 'mem');
  const data = `中${'x'.repeat(63 * 1024)}`;
  let sent = 0;
  let acked = 0;
  let refused = 0;
  const deadline = Date.now() + c.durationMs;
  const sockets = await Promise.all(
    Array.from({ length: c.users * c.socketsPerUser }, async (_, k) => {
      const user = `cjk-attacker-${k % c.users}`;
      const token = await new SignJWT({})
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject(user)
        .setIssuedAt()
        .setExpirationTime('1h')
        .sign(new TextEncoder().encode(SECRET));
      return connect(port, token, k);
    }),
  );
  await Promise.all(
    sockets.map(async (conn, k) => {
      if (!conn) return;
      for (let i = 0; Date.now() < deadline; i++) {
        const id = `cjk-${k}-${i}`;
        const reply = new Promise<string>((resolve) => {
          const on = (d: WebSocket.RawData) => {
            const m = JSON.parse(String(d)) as { id?: string; type: string };
            if (m.id !== id) return;
            conn.ws.off('message', on);
            resolve(m.type);
          };
          conn.ws.on('message', on);
          conn.closed.then(() => resolve('closed'));
        });
        conn.ws.send(JSON.stringify({ id, type: 'echo', payload: { n: i, data }, csrf: conn.csrf }));
        sent++;
        const type = await reply;
        if (type === 'ack') acked++;
        else refused++;
        if (type === 'closed') return;
        await new Promise((r) => setTimeout(r, c.gapMs));
      }
    }),
  );
  const after = await ask<Mem>(server, { cmd: 'mem' }, 'mem');
  for (const conn of sockets) conn?.ws.close();
  await Promise.all(sockets.map((conn) => conn?.closed));
  const budgetBytes = c.users * c.userBudgetBytes;
  return {
    users: c.users,
    sent,
    acked,
    refused,
    heapBefore: before.heapUsed,
    heapAfter: after.heapUsed,
    rssBefore: before.rss,
    rssAfter: after.rss,
    budgetBytes,
    // Heap growth within the budget, plus 4 MB for the allocator and the sockets' own buffers.
    withinBudget: after.heapUsed - before.heapUsed <= budgetBytes + 4 * 1024 * 1024,
  };
}

async function main(): Promise<void> {
  const tokens = await Promise.all(
    Array.from({ length: CONFIG.sockets }, (_, i) =>
      new SignJWT({})
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject(`soak-user-${i}`)
        .setIssuedAt()
        .setExpirationTime('2h')
        .sign(new TextEncoder().encode(SECRET)),
    ),
  );
  const server = spawn(process.execPath, ['--expose-gc', join(here, 'servers/soak.mjs')], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: {
      ...process.env,
      SOAK_SAMPLE_MS: String(CONFIG.sampleMs),
      SOAK_DEDUPE_TTL_MS: String(CONFIG.dedupeTtlMs),
    },
  });
  const samples: (Mem & { sockets: number })[] = [];
  const serverErrors: string[] = [];
  let exited: string | undefined;
  server.on('message', (m: { sample?: Mem & { sockets: number }; error?: string }) => {
    if (m.sample) samples.push(m.sample);
    if (m.error) serverErrors.push(m.error);
  });
  server.once('exit', (code, signal) => {
    exited = `server exited during the run (code ${code}, signal ${signal})`;
  });
  const port = await ask<number>(server, undefined, 'port');
  const handlesAtStart = await ask<Handles>(server, { cmd: 'handles', waitMs: 0 }, 'handles');
  const memAtStart = await ask<Mem>(server, { cmd: 'mem' }, 'mem');
  const t0 = Date.now();
  const waves: WaveResult[] = [];
  const idle: IdleMem[] = [];
  let pausedMs = 0;
  /** When the warm-up's idle measurement ended (ms since t0): the dedupe cache refills from empty. */
  let refillFrom = 0;
  const warmupMs = CONFIG.durationMs * CONFIG.warmupFraction;
  /** Nothing connected and every TTL-bound cache emptied: what is left is what the server keeps. */
  const measureIdle = async (label: IdleMem['label']) => {
    const began = Date.now();
    await ask<Handles>(server, { cmd: 'handles', waitMs: 10_000 }, 'handles');
    await new Promise((r) => setTimeout(r, idlePauseMs));
    const mem = await ask<Mem>(server, { cmd: 'mem' }, 'mem');
    idle.push({ label, ...mem });
    pausedMs += Date.now() - began;
    if (label === 'after warm-up') refillFrom = Date.now() - t0;
    console.log(`idle ${label}: heap ${mb(mem.heapUsed)}, rss ${mb(mem.rss)}`);
  };
  console.log(
    `soak (${CONFIG.mode}): ${CONFIG.sockets} sockets a wave for ${Math.round(CONFIG.durationMs / 1000)} s, ` +
      `server pid ${server.pid} on 127.0.0.1:${port}`,
  );
  while (Date.now() - t0 - pausedMs < CONFIG.durationMs && exited === undefined) {
    const w = await wave(port, tokens, waves.length + 1, t0);
    if (exited !== undefined) break;
    const mem = await ask<Mem>(server, { cmd: 'mem' }, 'mem');
    waves.push({ ...w, mem });
    console.log(
      `wave ${String(w.wave).padStart(3)}  ${(w.t / 1000).toFixed(1).padStart(6)} s  ${w.ms} ms  ` +
        `${w.authenticated}/${CONFIG.sockets} authenticated  ${w.acked} acked  ${w.errors} errors  ` +
        `heap ${mb(mem.heapUsed)}  rss ${mb(mem.rss)}`,
    );
    if (idle.length === 0 && Date.now() - t0 >= warmupMs) await measureIdle('after warm-up');
  }
  if (exited === undefined) await measureIdle('at the end');
  const cjk = exited === undefined ? await cjkAttack(server, port) : null;
  if (cjk)
    console.log(
      `per-user bound (CJK): ${cjk.acked} acked 63 KB results from ${cjk.users} users; heap ` +
        `${mb(cjk.heapBefore)} -> ${mb(cjk.heapAfter)} (budget ${mb(cjk.budgetBytes)})`,
    );
  const handlesAtEnd =
    exited === undefined
      ? await ask<Handles>(server, { cmd: 'handles', waitMs: 10_000 }, 'handles')
      : undefined;
  if (exited === undefined) {
    server.removeAllListeners('exit');
    const done = new Promise((r) => server.once('exit', r));
    server.kill('SIGKILL');
    await done;
  }
  const [idleFrom, idleTo] = idle;
  const percent = (from: number, to: number) => Math.round(((to - from) / from) * 1000) / 10;
  // Under load the post-GC heap follows the message rate of the last dedupeTtlMs, so it is
  // compared only once that cache is full, and only as a second figure.
  const loaded = waves.filter((w) => w.t >= refillFrom + 1.5 * CONFIG.dedupeTtlMs && w.t > warmupMs);
  const measured = loaded.length >= 4 ? loaded : waves;
  const heap = growth(measured.map((w) => w.mem.heapUsed));
  const rss = growth(measured.map((w) => w.mem.rss));
  const seconds = (Date.now() - t0) / 1000;
  const totals = {
    waves: waves.length,
    connections: waves.reduce((a, w) => a + w.authenticated, 0),
    acked: waves.reduce((a, w) => a + w.acked, 0),
    refusedAsExpected: waves.reduce((a, w) => a + w.refusedAsExpected, 0),
    errors: [...errors.values()].reduce((a, b) => a + b, 0),
  };
  const leakedHandles = handlesAtEnd ? handlesAtEnd.handles - handlesAtStart.handles : null;
  const idleGrowth =
    idleFrom && idleTo
      ? {
          heapPercent: percent(idleFrom.heapUsed, idleTo.heapUsed),
          rssPercent: percent(idleFrom.rss, idleTo.rss),
          heapBytes: { from: idleFrom.heapUsed, to: idleTo.heapUsed },
          rssBytes: { from: idleFrom.rss, to: idleTo.rss },
        }
      : null;
  const result = {
    mode: CONFIG.mode,
    date: new Date().toISOString(),
    node: process.version,
    config: CONFIG,
    seconds: Math.round(seconds),
    loadSeconds: Math.round((Date.now() - t0 - pausedMs) / 1000),
    totals,
    connectionsPerSec: Math.round(totals.connections / ((Date.now() - t0 - pausedMs) / 1000)),
    growthAfterWarmup: {
      idle: idleGrowth,
      underLoad: {
        heapPercent: heap.percent,
        rssPercent: rss.percent,
        heapBytes: { from: heap.from, to: heap.to },
        rssBytes: { from: rss.from, to: rss.to },
        wavesMeasured: measured.length,
      },
      warmupMs,
      goalPercent: 5,
      met: idleGrowth !== null && idleGrowth.heapPercent < 5,
    },
    memory: { atStart: memAtStart, idle, peakRss: Math.max(0, ...samples.map((s) => s.rss)) },
    perUserBound: cjk,
    handles: { atStart: handlesAtStart, atEnd: handlesAtEnd ?? null, leaked: leakedHandles },
    errors: Object.fromEntries(errors),
    serverErrors: exited ? [...serverErrors, exited] : serverErrors,
    waves,
    samples,
  };
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, 'soak-latest.json'), `${JSON.stringify(result, null, 2)}\n`);
  writeFileSync(join(outDir, 'soak-latest.md'), markdown(result));
  writeFileSync(join(outDir, 'soak-heap.svg'), chart(samples, waves, idle, warmupMs));
  console.log(`\n${markdown(result)}\nwritten to ${outDir}`);
  if (exited !== undefined || serverErrors.length > 0) process.exitCode = 1;
}

const mb = (b: number) => `${(b / 1e6).toFixed(1)} MB`;
const signed = (b: number) => `${b >= 0 ? '+' : ''}${mb(b)}`;

type Result = {
  mode: string;
  date: string;
  node: string;
  config: typeof CONFIG;
  seconds: number;
  loadSeconds: number;
  totals: Record<string, number>;
  connectionsPerSec: number;
  growthAfterWarmup: {
    idle: {
      heapPercent: number;
      rssPercent: number;
      heapBytes: { from: number; to: number };
      rssBytes: { from: number; to: number };
    } | null;
    underLoad: {
      heapPercent: number;
      rssPercent: number;
      heapBytes: { from: number; to: number };
      rssBytes: { from: number; to: number };
      wavesMeasured: number;
    };
    warmupMs: number;
    met: boolean;
  };
  memory: { atStart: Mem; peakRss: number };
  perUserBound: CjkResult | null;
  handles: { atStart: Handles; atEnd: Handles | null; leaked: number | null };
  errors: Record<string, number>;
  serverErrors: string[];
};

function markdown(r: Result): string {
  const g = r.growthAfterWarmup;
  const i = g.idle;
  const l = g.underLoad;
  const errorLines = Object.entries(r.errors).map(([k, v]) => `  - ${k}: ${v}`);
  return [
    `# wsguard soak (${r.mode}, ${r.date}, Node ${r.node})`,
    '',
    `${r.config.sockets} sockets a wave (connect, authenticate, ${r.config.messages} messages each, disconnect), ` +
      `${r.totals.waves} waves in ${r.loadSeconds} s of load (${r.seconds} s in all): ${r.totals.connections} connections ` +
      `(${r.connectionsPerSec}/s), ${r.totals.acked} acks, ${r.totals.refusedAsExpected} invalid messages refused as expected.`,
    '',
    '| server memory (after a full GC) | after warm-up | at the end | growth |',
    '| --- | ---: | ---: | ---: |',
    i
      ? `| heap used, idle | ${mb(i.heapBytes.from)} | ${mb(i.heapBytes.to)} | ${i.heapPercent}% |`
      : '| heap used, idle | n/a | n/a | n/a |',
    i
      ? `| RSS, idle | ${mb(i.rssBytes.from)} | ${mb(i.rssBytes.to)} | ${i.rssPercent}% |`
      : '| RSS, idle | n/a | n/a | n/a |',
    `| heap used between waves (median of first / last quarter) | ${mb(l.heapBytes.from)} | ${mb(l.heapBytes.to)} | ${l.heapPercent}% |`,
    `| RSS between waves | ${mb(l.rssBytes.from)} | ${mb(l.rssBytes.to)} | ${l.rssPercent}% |`,
    r.perUserBound
      ? `| heap, ${r.perUserBound.users} users sending acked 63 KB CJK results (${r.perUserBound.acked} acked) | ${mb(r.perUserBound.heapBefore)} | ${mb(r.perUserBound.heapAfter)} | ${signed(r.perUserBound.heapAfter - r.perUserBound.heapBefore)}, budget ${mb(r.perUserBound.budgetBytes)}: ${r.perUserBound.withinBudget ? 'within' : 'OVER'} |`
      : '| heap, users sending acked 63 KB CJK results | n/a | n/a | n/a |',
    r.perUserBound
      ? `| RSS, the same | ${mb(r.perUserBound.rssBefore)} | ${mb(r.perUserBound.rssAfter)} | ${signed(r.perUserBound.rssAfter - r.perUserBound.rssBefore)} |`
      : '| RSS, the same | n/a | n/a | n/a |',
    '',
    `- leak check: idle heap (no sockets, TTL-bound caches emptied: ${idlePauseMs / 1000} s ` +
      `after the last close) after the warm-up (the first ${Math.round(g.warmupMs / 1000)} s) and at the end: ` +
      `${i ? `${i.heapPercent}%` : 'n/a'}, goal < 5%: ${g.met ? 'met' : 'NOT met'}`,
    `- between waves the heap follows the message rate of the last dedupeTtlMs (${r.config.dedupeTtlMs} ms): ` +
      `${l.heapPercent}% over ${l.wavesMeasured} waves`,
    `- heap at start (idle, after GC): ${mb(r.memory.atStart.heapUsed)}; peak RSS: ${mb(r.memory.peakRss)}`,
    `- open handles: ${r.handles.atStart.handles} at start, ${r.handles.atEnd?.handles ?? 'n/a'} at the end ` +
      `(${r.handles.leaked === null ? 'n/a' : r.handles.leaked > 0 ? `${r.handles.leaked} more` : 'none left over'}); ` +
      `sockets open at the end: ${r.handles.atEnd?.sockets ?? 'n/a'}`,
    `- client-side errors: ${r.totals.errors}${errorLines.length ? '' : ' (none)'}`,
    ...errorLines,
    `- server errors: ${r.serverErrors.length === 0 ? 'none' : r.serverErrors.join('; ')}`,
    '',
    '![heap over time](soak-heap.svg)',
    '',
  ].join('\n');
}

/** Heap used and RSS over time (timer samples), with the post-GC heap of each wave as dots. */
function chart(
  samples: (Mem & { sockets: number })[],
  waves: WaveResult[],
  idle: IdleMem[],
  warmupMs: number,
): string {
  const width = 760;
  const height = 360;
  const left = 64;
  const right = 20;
  const top = 56;
  const bottom = 44;
  const tMax = Math.max(1, ...samples.map((s) => s.t), ...waves.map((w) => w.t));
  const yMax = Math.max(1, ...samples.map((s) => s.rss), ...waves.map((w) => w.mem.rss)) * 1.1;
  const x = (t: number) => left + ((width - left - right) * t) / tMax;
  const y = (b: number) => top + (height - top - bottom) * (1 - b / yMax);
  const line = (pts: [number, number][], color: string) =>
    `<polyline fill="none" stroke="${color}" stroke-width="1.5" points="${pts.map(([a, b]) => `${x(a).toFixed(1)},${y(b).toFixed(1)}`).join(' ')}"/>`;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<text x="10" y="20" font-size="14" font-weight="bold">wsguard soak: server memory over time (MB)</text>`,
    `<line x1="${left}" y1="${y(0)}" x2="${width - right}" y2="${y(0)}" stroke="#333"/>`,
    `<line x1="${left}" y1="${top}" x2="${left}" y2="${y(0)}" stroke="#333"/>`,
  ];
  const step = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000].find((s) => yMax / 1e6 / s <= 8) ?? 2000;
  for (let v = 0; v * 1e6 <= yMax; v += step) {
    parts.push(
      `<line x1="${left - 4}" y1="${y(v * 1e6)}" x2="${width - right}" y2="${y(v * 1e6)}" stroke="#eee"/>`,
    );
    parts.push(`<text x="${left - 8}" y="${y(v * 1e6) + 4}" text-anchor="end">${v}</text>`);
  }
  for (let s = 0; s <= tMax / 1000; s += Math.max(1, Math.ceil(tMax / 1000 / 10))) {
    parts.push(`<text x="${x(s * 1000)}" y="${height - bottom + 16}" text-anchor="middle">${s}</text>`);
  }
  parts.push(`<text x="${(left + width) / 2}" y="${height - 8}" text-anchor="middle">seconds</text>`);
  parts.push(
    `<line x1="${x(warmupMs)}" y1="${top}" x2="${x(warmupMs)}" y2="${y(0)}" stroke="#888" stroke-dasharray="4 3"/>`,
    `<text x="${x(warmupMs) + 4}" y="${top + 12}" fill="#666">warm-up ends</text>`,
  );
  parts.push(
    line(
      samples.map((s) => [s.t, s.rss]),
      '#d69e2e',
    ),
  );
  parts.push(
    line(
      samples.map((s) => [s.t, s.heapUsed]),
      '#2f6fed',
    ),
  );
  for (const w of waves) {
    parts.push(
      `<circle cx="${x(w.t).toFixed(1)}" cy="${y(w.mem.heapUsed).toFixed(1)}" r="2.5" fill="#1f9d55"/>`,
    );
  }
  for (const m of idle) {
    // The pause before an idle measurement: no sockets, caches expiring.
    const from = Math.max(0, m.t - idlePauseMs);
    parts.push(
      `<rect x="${x(from).toFixed(1)}" y="${top}" width="${(x(m.t) - x(from)).toFixed(1)}" height="${(y(0) - top).toFixed(1)}" fill="#000" fill-opacity="0.05"/>`,
      `<text x="${x(from) + 4}" y="${y(0) - 6}" fill="#666">idle</text>`,
    );
    parts.push(`<circle cx="${x(m.t).toFixed(1)}" cy="${y(m.heapUsed).toFixed(1)}" r="5" fill="#c53030"/>`);
  }
  const legend = [
    ['#d69e2e', 'RSS'],
    ['#2f6fed', 'heap used (timer samples)'],
    ['#1f9d55', 'heap after GC, between waves'],
    ['#c53030', 'heap idle (leak check)'],
  ];
  let lx = 10;
  for (const [color, label = ''] of legend) {
    parts.push(`<rect x="${lx}" y="30" width="10" height="10" fill="${color}"/>`);
    parts.push(`<text x="${lx + 14}" y="39">${label}</text>`);
    lx += 34 + label.length * 6.5;
  }
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}

await main();
process.exit();
