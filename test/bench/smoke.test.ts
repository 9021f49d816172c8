import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/project.js';

// Keeps `npm run bench` from rotting: one tiny workload, bare ws and wsguard, a fraction of a second.
// It checks that the run completes and writes its results; it asserts no speed.
const out = mkdtempSync(join(tmpdir(), 'wsguard-bench-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe('bench --smoke', () => {
  it('runs both variants and writes JSON, Markdown and the chart', () => {
    execFileSync(process.execPath, ['--import', 'tsx', 'bench/run.ts', '--smoke', `--out=${out}`], {
      cwd: repoRoot,
      stdio: 'pipe',
      timeout: 60_000,
    });
    const result = JSON.parse(readFileSync(join(out, 'latest.json'), 'utf8'));
    expect(result.mode).toBe('smoke');
    expect(result.rows.map((r: { variant: string }) => r.variant).sort()).toEqual(['bare', 'wsguard']);
    for (const r of result.rows) expect(r.msgsPerSec.median).toBeGreaterThan(0);
    expect(result.ratios['100B 16x16']['wsguard/bare']).toBeGreaterThan(0);
    expect(readFileSync(join(out, 'latest.md'), 'utf8')).toContain('| workload | wsguard/bare |');
    expect(readFileSync(join(out, 'throughput-ratios.svg'), 'utf8')).toMatch(/^<svg /);
  }, 90_000);
});
