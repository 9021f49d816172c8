import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/project.js';

// Keeps `npm run bench:hostile` from rotting: every class for a fraction of a second. It checks that
// the run completes, measures every class against its baseline and writes its results; it asserts
// no speed (ratios on a shared 2-core machine are for the benchmark, not for CI).
const hasSs = (() => {
  try {
    execFileSync('ss', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
const out = mkdtempSync(join(tmpdir(), 'wsguard-hostile-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe('bench:hostile --quick', () => {
  it('measures every hostile class and its valid baseline, and writes JSON and Markdown', () => {
    execFileSync(
      process.execPath,
      ['--import', 'tsx', 'bench/hostile.ts', '--quick', '--seconds=0.15', `--out=${out}`],
      {
        cwd: repoRoot,
        stdio: 'pipe',
        timeout: 90_000,
      },
    );
    const result = JSON.parse(readFileSync(join(out, 'hostile.json'), 'utf8')) as {
      mode: string;
      rows: {
        name: string;
        phase: string;
        attackerBytes: number;
        wireBytes: number | null;
        frames: number;
        ratio: number | null;
      }[];
    };
    expect(result.mode).toBe('quick');
    const names = result.rows.map((r) => r.name);
    for (const kind of [
      'oversized',
      'deep nesting',
      'wide object',
      'invalid JSON',
      'unknown type',
      'bad CSRF',
      'replay',
      'ws ping',
      'app ping',
      'packed',
    ])
      expect(
        names.some((n) => n.includes(kind)),
        kind,
      ).toBe(true);
    expect(new Set(result.rows.map((r) => r.phase))).toEqual(new Set(['pre-auth', 'post-auth']));
    for (const r of result.rows) {
      expect(r.attackerBytes, r.name).toBeGreaterThan(0);
      expect(r.frames, r.name).toBeGreaterThan(0);
      if (!r.name.startsWith('valid')) expect(r.ratio, r.name).toBeGreaterThan(0);
      // Bytes on the wire come from the kernel through `ss`, where it exists; never fewer than the frames.
      if (r.phase === 'post-auth' && hasSs) expect(r.wireBytes, r.name).toBeGreaterThan(r.attackerBytes);
    }
    expect(readFileSync(join(out, 'hostile.md'), 'utf8')).toContain('| phase | input |');
  }, 120_000);
});
