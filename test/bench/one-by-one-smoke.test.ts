import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/project.js';

// Keeps bench/one-by-one.ts from rotting: one short round of two variants, one with parts
// turned off (servers/wsguard-knobs.mjs). It checks that each variant reports its CPU per
// message; it asserts no speed.
describe('bench/one-by-one.ts', () => {
  it('measures each variant and prints user and sys CPU per message', () => {
    const out = execFileSync(
      process.execPath,
      [
        '--import',
        'tsx',
        'bench/one-by-one.ts',
        '--variants=ws-json,wsguard-off:dedupe+csrf',
        '--rounds=1',
        '--seconds=0.4',
        '--warmup=0.1',
        '--warmup-msgs=50',
      ],
      { cwd: repoRoot, stdio: 'pipe', timeout: 60_000 },
    ).toString();
    for (const v of ['ws-json', 'wsguard-off:dedupe+csrf']) {
      const row = out.split('\n').find((l) => l.startsWith(`${v} | `));
      expect(row, out).toBeDefined();
      const [user, sys, , rate] = (row as string)
        .split(' | ')
        .slice(1)
        .map((c) => Number.parseFloat(c));
      expect(user).toBeGreaterThanOrEqual(0);
      expect(sys).toBeGreaterThanOrEqual(0);
      expect(rate).toBeGreaterThan(0);
    }
  }, 90_000);

  it('refuses a base variant without --baseline', () => {
    expect(() =>
      execFileSync(process.execPath, ['--import', 'tsx', 'bench/one-by-one.ts', '--variants=base'], {
        cwd: repoRoot,
        stdio: 'pipe',
        timeout: 30_000,
      }),
    ).toThrow(/--baseline=DIR/);
  }, 60_000);
});
