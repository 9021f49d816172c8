/**
 * Fails when a source file passes the line limit or when the import graph has a cycle (type-only
 * imports count: a cycle of types still ties the modules into one unit to read and change).
 *
 *   node --import tsx tools/check-structure.ts [dir ...]   (default: src)
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const MAX_LINES = 400;

export interface StructureReport {
  /** Files over the limit, with their line counts. */
  oversized: { file: string; lines: number }[];
  /** Each cycle as the files on it, in import order (the first file repeats at the end). */
  cycles: string[][];
  files: number;
}

const SOURCE = /\.(ts|tsx|mts|cts)$/;
const IMPORT =
  /(?:^|[\s;])(?:import|export)\s+(?:type\s+)?(?:[\w*${}\s,]+?\s+from\s+)?['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

function listFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name.startsWith('.')) continue;
    const full = join(dir, name);
    if (statSync(full).isDirectory()) out.push(...listFiles(full));
    else if (SOURCE.test(name) && !name.endsWith('.d.ts')) out.push(full);
  }
  return out;
}

/** Strips comments so an import inside a doc example is not counted. */
function code(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
}

/** The file a relative specifier names (`./a.js` is written for `./a.ts`), or undefined. */
function resolveImport(from: string, spec: string): string | undefined {
  if (!spec.startsWith('.')) return undefined;
  const base = resolve(dirname(from), spec);
  const stem = base.replace(/\.(js|jsx|mjs|cjs)$/, '');
  const candidates = [
    base,
    `${stem}.ts`,
    `${stem}.tsx`,
    `${stem}.mts`,
    `${stem}.cts`,
    join(base, 'index.ts'),
    join(base, 'index.tsx'),
  ];
  return candidates.find((c) => SOURCE.test(c) && existsSync(c) && statSync(c).isFile());
}

export function importsOf(file: string): string[] {
  const text = code(readFileSync(file, 'utf8'));
  const out = new Set<string>();
  for (const m of text.matchAll(IMPORT)) {
    const target = resolveImport(file, (m[1] ?? m[2]) as string);
    if (target) out.add(target);
  }
  return [...out];
}

/** Strongly connected components with more than one file, or a file importing itself (Tarjan). */
function findCycles(graph: Map<string, string[]>): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const visit = (v: string) => {
    idx.set(v, index);
    low.set(v, index);
    index++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v) as number, low.get(w) as number));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v) as number, idx.get(w) as number));
    }
    if (low.get(v) === idx.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop() as string;
        onStack.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || (graph.get(v) ?? []).includes(v)) cycles.push(pathThrough(graph, scc));
    }
  };
  for (const v of graph.keys()) if (!idx.has(v)) visit(v);
  return cycles;
}

/** One concrete loop inside a component, for a readable message. */
function pathThrough(graph: Map<string, string[]>, scc: string[]): string[] {
  const inScc = new Set(scc);
  const start = [...scc].sort()[0] as string;
  const prev = new Map<string, string>();
  const queue = [start];
  while (queue.length > 0) {
    const v = queue.shift() as string;
    for (const w of graph.get(v) ?? []) {
      if (!inScc.has(w)) continue;
      if (w === start) {
        const path = [start];
        for (let at = v; at !== start; at = prev.get(at) as string) path.splice(1, 0, at);
        return [...path, start];
      }
      if (!prev.has(w)) {
        prev.set(w, v);
        queue.push(w);
      }
    }
  }
  return [...scc, scc[0] as string];
}

export function checkStructure(dirs: string[], maxLines = MAX_LINES): StructureReport {
  const files = dirs.flatMap((d) => listFiles(resolve(d)));
  const oversized: StructureReport['oversized'] = [];
  const graph = new Map<string, string[]>();
  for (const f of files) {
    const text = readFileSync(f, 'utf8');
    const lines = text.endsWith('\n') ? text.split('\n').length - 1 : text.split('\n').length;
    if (lines > maxLines) oversized.push({ file: f, lines });
    graph.set(f, importsOf(f));
  }
  return { oversized, cycles: findCycles(graph), files: files.length };
}

function main(): void {
  const dirs = process.argv.slice(2);
  const report = checkStructure(dirs.length > 0 ? dirs : ['src']);
  const rel = (f: string) => relative(process.cwd(), f);
  for (const o of report.oversized) console.error(`${rel(o.file)}: ${o.lines} lines (limit ${MAX_LINES})`);
  for (const c of report.cycles) console.error(`import cycle: ${c.map(rel).join(' -> ')}`);
  if (report.oversized.length > 0 || report.cycles.length > 0) {
    process.exitCode = 1;
    return;
  }
  console.log(`structure ok: ${report.files} files, none over ${MAX_LINES} lines, no import cycle`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
