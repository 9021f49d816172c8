// npm run bench:stages: what each pipeline stage costs per message, in-process (no sockets),
// with tinybench. Each task runs a batch of messages so that the timer's own cost (tens of ns)
// does not swamp stages that take less than a microsecond; figures are µs per message.
// The last rows run whole messages through a real guard's connection (a stub socket that
// drops what it is sent), valid and 50% invalid, so the sum can be checked against the parts.
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Bench } from 'tinybench';
import { z } from 'zod';
import { createAnomalyScorer } from '../src/server/anomaly/index.js';
import { createEventBus } from '../src/server/events.js';
import { createSocketRateStage } from '../src/server/limits/socket-rate.js';
import { createUserRateStage } from '../src/server/limits/user-rate.js';
import { createCsrfStage } from '../src/server/pipeline/csrf.js';
import { createDedupeCache } from '../src/server/pipeline/dedupe.js';
import { readEnvelope } from '../src/server/pipeline/envelope.js';
import { ackFrame } from '../src/server/pipeline/frames.js';
import { createSafeParse, inspectParsed } from '../src/server/pipeline/parse.js';
import { createSchemaStage } from '../src/server/pipeline/schema.js';
import type { ConnectionInfo, MessageContext, Stage } from '../src/server/pipeline/types.js';
import { createGuard } from '../src/server/server.js';
import type { GuardSocket } from '../src/server/socket.js';
import { memoryStore } from '../src/server/stores/memory/index.js';
import { high, outOfReach } from './servers/out-of-reach.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const argv = process.argv.slice(2);
const quick = argv.includes('--quick');
const outDir = argv.find((a) => a.startsWith('--out='))?.slice(6) ?? join(here, 'results');
const BATCH = 256;
// --baseline=DIR: a build (`dist/`) of an older commit; its CSRF, dedupe, ack and whole-message
// rows run in the same process next to the current ones, so before and after share the noise.
const baseline = argv.find((a) => a.startsWith('--baseline='))?.slice(11);

// The load client's 100 B message, as the server receives it.
const CSRF = 'c'.repeat(43);
const data = 'x'.repeat(60);
const frames = Array.from({ length: BATCH }, (_, i) =>
  Buffer.from(`{"id":"0-${i}","type":"echo","payload":{"n":${i},"data":"${data}"},"csrf":"${CSRF}"}`),
);
const badFrames = Array.from({ length: BATCH }, (_, i) =>
  Buffer.from(`{"id":"0-${i}","type":"echo","payload":{"n":"bad","data":"${data}"},"csrf":"${CSRF}"}`),
);
const texts = frames.map((f) => f.toString());
const values = texts.map((t) => JSON.parse(t) as Record<string, unknown>);
const badValues = badFrames.map((f) => JSON.parse(f.toString()) as Record<string, unknown>);
const schema = z.object({ n: z.number(), data: z.string() });

const conn: ConnectionInfo = {
  connectionId: 'bench',
  ip: '127.0.0.1',
  user: { id: 'bench' },
  sessionId: 's',
  csrfToken: CSRF,
  rate: undefined,
  anomaly: undefined,
  strikes: undefined,
};
const ctx = (v: Record<string, unknown>, i: number): MessageContext => ({
  conn,
  bytes: frames[i]?.length ?? 100,
  isBinary: false,
  type: 'echo',
  id: v.id as string,
  payload: v.payload,
  csrf: v.csrf as string,
});
const contexts = values.map(ctx);
const badContexts = badValues.map(ctx);

const safeParse = createSafeParse({ maxDepth: 32, maxKeys: 2000 });
const schemaStage = createSchemaStage({ echo: schema }, undefined);
const csrfStage = createCsrfStage({ enabled: true, exempt: [] }) as Stage;
const socketRate = createSocketRateStage(high, { rate: 1e12, burst: 1e12 }, Date.now) as Stage;
const userRate = createUserRateStage(memoryStore(), high) as Stage;
const scorer = createAnomalyScorer(
  { thresholds: { warn: 1e9, disconnect: 2e9, block: 3e9 } },
  createEventBus(undefined),
  Date.now,
  undefined,
  () => {},
);
const results = values.map((v) => v.payload);

/** A guard with every stage on, as bench/servers/wsguard.mjs sets it up, and one open connection. */
async function pipeline(make_ = { createGuard, memoryStore }) {
  const guard = make_.createGuard({
    auth: { jwt: { secret: 'bench-secret-bench-secret-bench-secret-01' } },
    logger: false,
    maxPayload: 256 * 1024,
    store: make_.memoryStore(),
    messages: { echo: schema },
    handlers: { echo: (_c: unknown, payload: unknown) => payload },
    ...outOfReach,
  });
  let sent = 0;
  const socket: GuardSocket = {
    send: () => {
      sent++;
    },
    close: () => {},
    terminate: () => {},
    ping: () => {},
    bufferedAmount: 0,
    isOpen: true,
  };
  const req = { url: '/ws', method: 'GET', headers: {}, remoteAddress: '127.0.0.1', encrypted: false };
  const c = guard.open(socket, { ok: true, ip: '127.0.0.1', principal: { id: 'bench' } } as never, req);
  while (c.state !== 'open') await new Promise((r) => setTimeout(r, 1));
  const csrf = c.csrfToken as string;
  // Ids must differ run to run, or the dedupe cache answers instead of the pipeline.
  let k = 0;
  const make = (bad: boolean) =>
    Buffer.from(
      `{"id":"0-${k++}","type":"echo","payload":{"n":${bad ? '"bad"' : k},"data":"${data}"},"csrf":"${csrf}"}`,
    );
  const pools = { valid: [] as Buffer[], mixed: [] as Buffer[] };
  const refill = () => {
    pools.valid = Array.from({ length: BATCH }, () => make(false));
    pools.mixed = Array.from({ length: BATCH }, (_, i) => make(i % 2 === 1));
  };
  return { conn: c, pools, refill, sent: () => sent, close: () => guard.close({ timeoutMs: 0 }) };
}

interface StageRow {
  stage: string;
  usPerMsg: number;
  rmePercent: number;
  samples: number;
}

async function main(): Promise<void> {
  const p = await pipeline();
  const closers: (() => unknown)[] = [];
  const bench = new Bench({ time: quick ? 150 : 600, warmupTime: quick ? 50 : 200 });
  const each = (name: string, fn: (i: number) => unknown, setup?: () => void) => {
    bench.add(
      name,
      () => {
        for (let i = 0; i < BATCH; i++) fn(i);
      },
      setup ? { beforeEach: setup } : {},
    );
  };
  each('parse (Buffer to string + JSON.parse)', (i) => JSON.parse((frames[i] as Buffer).toString()));
  each('sanitise (prototype, depth and key walk)', (i) => inspectParsed(values[i]));
  each('parse + sanitise (createSafeParse)', (i) => safeParse(texts[i] as string));
  each('envelope', (i) => readEnvelope(values[i]));
  each('Zod schema, valid', (i) => schemaStage(contexts[i] as MessageContext));
  each('Zod schema, invalid', (i) => schemaStage(badContexts[i] as MessageContext));
  each('CSRF', (i) => csrfStage(contexts[i] as MessageContext));
  each('limiter (socket messages + bytes)', (i) => socketRate(contexts[i] as MessageContext));
  each('limiter (user, memory store)', (i) => userRate(contexts[i] as MessageContext));
  each('anomaly (burst watch)', (i) => scorer.burstStage(contexts[i] as MessageContext));
  each('ack encoding', (i) => ackFrame(`0-${i}`, results[i]));
  const dedupe = createDedupeCache({ window: 1000, ttlMs: 60_000, maxUsers: 100_000 });
  let seq = 0;
  each('dedupe (get + set, a new id)', () => {
    const id = `0-${seq++}`;
    if (dedupe.get('bench', id) === undefined) dedupe.set('bench', id, 'reply');
  });
  // At the default byte budgets with 1,000 users sending in turn: the total budget binds, and
  // each new reply costs the oldest kept reply of the user seen longest ago.
  const atBudget = (make: typeof createDedupeCache) => {
    const d = make({
      window: 1000,
      ttlMs: 60_000,
      maxUsers: 100_000,
      maxUserBytes: 256 * 1024,
      maxBytes: 32 * 1024 * 1024,
      maxEntryBytes: 4096,
    });
    const users = Array.from({ length: 1000 }, (_, u) => `user-${u}`);
    const reply = `{"type":"ack","id":"0-0","result":{"n":1,"data":"${data}"}}`;
    let n = 0;
    const step = () => {
      const user = users[n % 1000] as string;
      const id = `0-${n++}`;
      if (d.get(user, id) === undefined) d.set(user, id, reply);
    };
    for (let i = 0; i < 300_000; i++) step();
    return step;
  };
  const dedupe1000 = atBudget(createDedupeCache);
  each('dedupe, 1,000 users at the byte budget', () => dedupe1000());
  each(
    'whole message, valid (in-process guard)',
    (i) => p.conn.handleMessage(p.pools.valid[i] as Buffer, false),
    p.refill,
  );
  if (baseline) {
    const from = (m: string) => import(join(baseline, 'src/server', m));
    const base = {
      csrf: (await from('pipeline/csrf.js')).createCsrfStage({ enabled: true, exempt: [] }) as Stage,
      frames: await from('pipeline/frames.js'),
      dedupe: (await from('pipeline/dedupe.js')).createDedupeCache({
        window: 1000,
        ttlMs: 60_000,
        maxUsers: 100_000,
      }) as ReturnType<typeof createDedupeCache>,
      p: await pipeline({
        createGuard: (await from('server.js')).createGuard,
        memoryStore: (await from('stores/memory/index.js')).memoryStore,
      }),
    };
    each('CSRF (baseline)', (i) => base.csrf(contexts[i] as MessageContext));
    each('ack encoding (baseline)', (i) => base.frames.ackFrame(`0-${i}`, results[i]));
    let bseq = 0;
    each('dedupe (get + set, a new id) (baseline)', () => {
      const id = `0-${bseq++}`;
      if (base.dedupe.get('bench', id) === undefined) base.dedupe.set('bench', id, 'reply');
    });
    const baseDedupe1000 = atBudget((await from('pipeline/dedupe.js')).createDedupeCache);
    each('dedupe, 1,000 users at the byte budget (baseline)', () => baseDedupe1000());
    each(
      'whole message, valid (in-process guard) (baseline)',
      (i) => base.p.conn.handleMessage(base.p.pools.valid[i] as Buffer, false),
      base.p.refill,
    );
    closers.push(base.p.close);
  }
  each(
    'whole message, 50% invalid (in-process guard)',
    (i) => p.conn.handleMessage(p.pools.mixed[i] as Buffer, false),
    p.refill,
  );
  await bench.run();
  const rows: StageRow[] = bench.tasks.map((t) => {
    const r = t.result as { latency?: { mean: number; rme: number; samplesCount?: number }; state?: string };
    const lat = r.latency;
    return {
      stage: t.name,
      usPerMsg: lat ? Math.round(((lat.mean * 1000) / BATCH) * 1000) / 1000 : Number.NaN,
      rmePercent: lat ? Math.round(lat.rme * 10) / 10 : Number.NaN,
      samples: lat?.samplesCount ?? 0,
    };
  });
  await p.close();
  for (const c of closers) await c();
  const result = {
    date: new Date().toISOString(),
    node: process.version,
    batch: BATCH,
    loadAverage: loadavg().map((x) => Math.round(x * 100) / 100),
    baseline: baseline ?? null,
    rows,
  };
  const md = [
    `# wsguard per-stage cost (${result.date}, Node ${result.node})`,
    '',
    'One 100 B `echo` message as the load client sends it; each figure is the mean over batches',
    `of ${BATCH} messages, in µs per message (in-process, no sockets). Load average ${result.loadAverage.join(', ')}.`,
    ...(baseline ? ['', `Rows marked (baseline) run the build in ${baseline}, in the same process.`] : []),
    '',
    '| stage | µs/msg | ± % |',
    '| --- | ---: | ---: |',
    ...rows.map((r) => `| ${r.stage} | ${r.usPerMsg} | ${r.rmePercent} |`),
    '',
  ].join('\n');
  console.table(rows.map((r) => ({ stage: r.stage, 'µs/msg': r.usPerMsg, '±%': r.rmePercent })));
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, 'stages.json'), `${JSON.stringify(result, null, 2)}\n`);
  writeFileSync(join(outDir, 'stages.md'), md);
  console.log(`written to ${outDir}`);
}

await main();
process.exit(0);
