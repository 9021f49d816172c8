import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { checkStructure, MAX_LINES } from '../../tools/check-structure.js';
import { repoRoot } from '../helpers/project.js';

const run = promisify(execFile);
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A throwaway source tree: file name -> content. */
function tree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'wsg-structure-'));
  dirs.push(root);
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(root, name, '..'), { recursive: true });
    writeFileSync(join(root, name), text);
  }
  return root;
}

const script = join(repoRoot, 'tools/check-structure.ts');
const cli = (dir: string) =>
  run(process.execPath, ['--import', 'tsx', script, dir], { cwd: repoRoot }).then(
    (r) => ({ code: 0, out: r.stdout + r.stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, out: e.stdout + e.stderr }),
  );

describe('check-structure', () => {
  it('finds a cycle made of type-only imports, through a directory index', () => {
    const root = tree({
      'a.ts': "import type { B } from './b/index.js';\nexport type A = { b?: B };\n",
      'b/index.ts': "export type { B } from './b.js';\n",
      'b/b.ts': "import type { A } from '../a.js';\nexport type B = { a?: A };\n",
      'c.ts': "import type { A } from './a.js';\nexport type C = A;\n",
    });
    const r = checkStructure([root]);
    expect(r.cycles).toHaveLength(1);
    expect(r.cycles[0]?.map((f) => f.slice(root.length + 1)).sort()).toEqual([
      'a.ts',
      'a.ts',
      'b/b.ts',
      'b/index.ts',
    ]);
  });

  it('ignores imports inside comments and packages', () => {
    const root = tree({
      'a.ts':
        "// import { b } from './b.js';\n/* import './b.js' */\nimport { z } from 'zod';\nexport const a = z;\n",
      'b.ts': "import { a } from './a.js';\nexport const b = a;\n",
    });
    expect(checkStructure([root]).cycles).toEqual([]);
  });

  it(`flags a file over ${MAX_LINES} lines, and not one at the limit`, () => {
    const root = tree({
      'big.ts': 'export const x = 1;\n'.repeat(MAX_LINES + 1),
      'ok.ts': 'export const y = 1;\n'.repeat(MAX_LINES),
    });
    const r = checkStructure([root]);
    expect(r.oversized.map((o) => [o.file.slice(root.length + 1), o.lines])).toEqual([
      ['big.ts', MAX_LINES + 1],
    ]);
  });

  it('the command fails with a readable message on a bad tree', async () => {
    const root = tree({
      'big.ts': 'export const x = 1;\n'.repeat(MAX_LINES + 5),
      'a.ts': "import './b.js';\n",
      'b.ts': "import './a.js';\n",
    });
    const r = await cli(root);
    expect(r.code).toBe(1);
    expect(r.out).toContain(`big.ts: ${MAX_LINES + 5} lines (limit ${MAX_LINES})`);
    expect(r.out).toMatch(/import cycle: .*a\.ts -> .*b\.ts -> .*a\.ts/);
  });

  it('src/ has no file over the limit and no import cycle', async () => {
    const r = await cli('src');
    expect(r.out).toContain('structure ok');
    expect(r.code).toBe(0);
  });
});
