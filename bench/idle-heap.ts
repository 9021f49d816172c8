// node --import tsx bench/idle-heap.ts [--variant=wsguard|bare|wsguard-base] [--conns=2000]
//   [--baseline=DIR] [--top=25] [--warm=300] [--detail=type:name|maps]
// Where the heap of an idle authenticated connection goes: starts a bench server
// (bench/servers/<variant>.mjs, the one `npm run bench` measures), warms it up with a few
// hundred connections opened and closed, then takes a heap snapshot, opens `conns` connections
// (authenticated where the variant authenticates) from a load process, takes another, and
// prints the difference per connection by node type and constructor. 127.0.0.1 only; the
// server and the load are killed when it ends.
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ask, holdRequest } from './ipc.js';
import type { Variant } from './load.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const arg = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const variant = (arg('variant') ?? 'wsguard') as Variant;
const conns = Number(arg('conns') ?? 2000);
const top = Number(arg('top') ?? 25);
const baseline = arg('baseline');

const children: ChildProcess[] = [];
function start(args: string[], env: NodeJS.ProcessEnv = process.env): ChildProcess {
  const c = spawn(process.execPath, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env });
  children.push(c);
  return c;
}
async function stop(c: ChildProcess): Promise<void> {
  if (c.exitCode !== null || c.signalCode !== null) return;
  const done = new Promise((r) => c.once('exit', r));
  c.kill('SIGKILL');
  await done;
}

/** Opens `n` connections from a new load process and holds them; returns its close(). */
async function hold(port: number, n: number): Promise<() => Promise<void>> {
  const load = start(['--import', 'tsx', join(here, 'load.ts')]);
  await ask(load, holdRequest(variant, port, n), 'holding');
  return async () => {
    const closed = ask(load, { close: true }, 'result');
    await closed;
    await stop(load);
  };
}

type Totals = Map<string, { size: number; count: number }>;

interface Snapshot {
  snapshot: {
    meta: { node_fields: string[]; node_types: [string[]]; edge_fields: string[]; edge_types: [string[]] };
  };
  nodes: number[];
  edges: number[];
  strings: string[];
}

/**
 * For `--detail=type:name`: the nodes of that kind new in `b` (ids not in `a`), counted by
 * "retainer type:name --edge-->": what holds them.
 */
function retainers(aPath: string, bPath: string, want: string): [string, number][] {
  const read = (p: string) => JSON.parse(readFileSync(p, 'utf8')) as Snapshot;
  const a = read(aPath);
  const b = read(bPath);
  const nf = b.snapshot.meta.node_fields;
  const ef = b.snapshot.meta.edge_fields;
  const types = b.snapshot.meta.node_types[0];
  const etypes = b.snapshot.meta.edge_types[0];
  const [t, nm, idf, ec] = ['type', 'name', 'id', 'edge_count'].map((f) => nf.indexOf(f)) as number[] as [
    number,
    number,
    number,
    number,
  ];
  const oldIds = new Set<number>();
  for (let i = 0; i < a.nodes.length; i += nf.length) oldIds.add(a.nodes[i + idf] as number);
  const label = (i: number) =>
    `${types[b.nodes[i + t] as number]}:${(b.strings[b.nodes[i + nm] as number] ?? '').slice(0, 50)}`;
  const wanted = new Set<number>();
  for (let i = 0; i < b.nodes.length; i += nf.length) {
    if (label(i) === want && !oldIds.has(b.nodes[i + idf] as number)) wanted.add(i);
  }
  const out = new Map<string, number>();
  if (want === 'maps') {
    // Objects new in b, by kind: how many, and how many distinct maps (hidden classes) they use.
    const maps = new Map<string, Set<number>>();
    let e2 = 0;
    for (let i = 0; i < b.nodes.length; i += nf.length) {
      const count = b.nodes[i + ec] as number;
      const fresh = !oldIds.has(b.nodes[i + idf] as number);
      for (let k = 0; k < count; k++, e2 += ef.length) {
        if (!fresh || b.strings[b.edges[e2 + 1] as number] !== 'map') continue;
        const key = label(i);
        const set = maps.get(key) ?? new Set();
        set.add(b.edges[e2 + 2] as number);
        maps.set(key, set);
        out.set(key, (out.get(key) ?? 0) + 1);
      }
    }
    // Which retainer edge leads to the objects whose map no other new object shares.
    const mapUsers = new Map<number, number>();
    for (const set of maps.values()) for (const m of set) mapUsers.set(m, 0);
    let e3 = 0;
    const mapOf = new Map<number, number>();
    for (let i = 0; i < b.nodes.length; i += nf.length) {
      const count = b.nodes[i + ec] as number;
      for (let k = 0; k < count; k++, e3 += ef.length) {
        if (b.strings[b.edges[e3 + 1] as number] !== 'map') continue;
        const m = b.edges[e3 + 2] as number;
        if (mapUsers.has(m)) mapUsers.set(m, (mapUsers.get(m) ?? 0) + 1);
        mapOf.set(i, m);
      }
    }
    let e4 = 0;
    for (let i = 0; i < b.nodes.length; i += nf.length) {
      const count = b.nodes[i + ec] as number;
      for (let k = 0; k < count; k++, e4 += ef.length) {
        const to = b.edges[e4 + 2] as number;
        if (label(to) !== 'object:Object' || oldIds.has(b.nodes[to + idf] as number)) continue;
        const et = etypes[b.edges[e4] as number];
        if (et !== 'property') continue;
        const uniq = mapUsers.get(mapOf.get(to) ?? -1) === 1;
        const key = `unique map ${uniq}: ${label(i)} .${b.strings[b.edges[e4 + 1] as number]}`;
        out.set(key, (out.get(key) ?? 0) + 1);
      }
    }
    return [...out]
      .map(([k, n]) => [`${k} distinct maps ${maps.get(k)?.size}`, n] as [string, number])
      .sort((x, y) => y[1] - x[1])
      .slice(0, 30);
  }
  let e = 0;
  for (let i = 0; i < b.nodes.length; i += nf.length) {
    const count = b.nodes[i + ec] as number;
    for (let k = 0; k < count; k++, e += ef.length) {
      const to = b.edges[e + 2] as number;
      if (!wanted.has(to)) continue;
      const et = etypes[b.edges[e] as number];
      const en =
        et === 'element' || et === 'hidden' ? String(b.edges[e + 1]) : b.strings[b.edges[e + 1] as number];
      const key = `${label(i)} --${et}:${en}-->`;
      out.set(key, (out.get(key) ?? 0) + 1);
    }
  }
  return [...out].sort((x, y) => y[1] - x[1]).slice(0, 30);
}

/** Self size and count per `type:name` over every node of a .heapsnapshot. */
function totals(path: string): Totals {
  const snap = JSON.parse(readFileSync(path, 'utf8')) as {
    snapshot: { meta: { node_fields: string[]; node_types: [string[]] } };
    nodes: number[];
    strings: string[];
  };
  const fields = snap.snapshot.meta.node_fields;
  const types = snap.snapshot.meta.node_types[0];
  const [t, nm, sz] = ['type', 'name', 'self_size'].map((f) => fields.indexOf(f)) as [number, number, number];
  const out: Totals = new Map();
  for (let i = 0; i < snap.nodes.length; i += fields.length) {
    const type = types[snap.nodes[i + t] as number] ?? '?';
    let name = snap.strings[snap.nodes[i + nm] as number] ?? '?';
    // Strings and numbers by type only: their names are their contents.
    if (type === 'string' || type === 'concatenated string' || type === 'sliced string') name = '';
    if (type === 'number' || type === 'hidden') name = type === 'hidden' ? name : '';
    if (name.length > 60) name = `${name.slice(0, 57)}...`;
    const key = `${type}:${name}`;
    const e = out.get(key) ?? { size: 0, count: 0 };
    e.size += snap.nodes[i + sz] as number;
    e.count++;
    out.set(key, e);
  }
  return out;
}

async function main(): Promise<void> {
  const env =
    variant === 'wsguard-base'
      ? { ...process.env, WSGUARD_DIST: resolve(baseline ?? '/work/wt/base/dist') }
      : process.env;
  const server = start(['--expose-gc', join(here, `servers/${variant}.mjs`)], env);
  try {
    const port = await ask<number>(server, undefined, 'port');
    // Lazily compiled code, caches filled on first use: paid once, not per connection.
    // --warm=0 measures from a cold server, as `npm run bench` does.
    const warmConns = Number(arg('warm') ?? 300);
    if (warmConns > 0) {
      const warm = await hold(port, warmConns);
      await warm();
      await new Promise((r) => setTimeout(r, 500));
    }
    const dir = tmpdir();
    const a = join(dir, `idle-heap-${process.pid}-a.heapsnapshot`);
    const b = join(dir, `idle-heap-${process.pid}-b.heapsnapshot`);
    const mem0 = await ask<{ heapUsed: number; rss: number }>(server, { cmd: 'mem' }, 'mem');
    await ask(server, { cmd: 'snapshot', path: a }, 'snapshot');
    const release = await hold(port, conns);
    await new Promise((r) => setTimeout(r, 300));
    const mem1 = await ask<{ heapUsed: number; rss: number }>(server, { cmd: 'mem' }, 'mem');
    await ask(server, { cmd: 'snapshot', path: b }, 'snapshot');
    await release();
    const detail = arg('detail');
    if (detail) for (const [k, n] of retainers(a, b, detail)) console.log(`${String(n).padStart(7)}  ${k}`);
    const before = totals(a);
    const after = totals(b);
    rmSync(a);
    rmSync(b);
    const rows = [...new Set([...before.keys(), ...after.keys()])]
      .map((key) => {
        const x = before.get(key) ?? { size: 0, count: 0 };
        const y = after.get(key) ?? { size: 0, count: 0 };
        return { key, bytes: (y.size - x.size) / conns, count: (y.count - x.count) / conns };
      })
      .filter((r) => Math.abs(r.bytes) >= 1)
      .sort((p, q) => q.bytes - p.bytes);
    const sum = rows.reduce((s, r) => s + r.bytes, 0);
    console.log(
      `${variant}: ${conns} connections; heapUsed ${((mem1.heapUsed - mem0.heapUsed) / conns).toFixed(0)} B/conn, rss ${((mem1.rss - mem0.rss) / conns).toFixed(0)} B/conn; snapshot diff ${sum.toFixed(0)} B/conn`,
    );
    console.log(`${'bytes/conn'.padStart(10)} ${'objs/conn'.padStart(9)}  type:constructor`);
    for (const r of rows.slice(0, top)) {
      console.log(`${r.bytes.toFixed(1).padStart(10)} ${r.count.toFixed(2).padStart(9)}  ${r.key}`);
    }
  } finally {
    for (const c of children) await stop(c);
  }
}

await main();
process.exit(0);
