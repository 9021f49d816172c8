import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/project.js';

// Keeps `npm run soak` from rotting: 20 sockets a wave for 3 s, a 1 s dedupe TTL so the two
// idle measurements wait 2.25 s each. It checks that the run completes, that the server served
// every wave without an error and kept no socket or handle, and that the report is written.
// It asserts no memory figure: a few seconds say nothing about growth.
const out = mkdtempSync(join(tmpdir(), 'wsguard-soak-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe('soak, a few seconds', () => {
  it('runs waves against the server process and writes JSON, Markdown and the heap chart', () => {
    execFileSync(
      process.execPath,
      [
        '--import',
        'tsx',
        'bench/soak.ts',
        '--duration=3s',
        '--sockets=20',
        '--dedupe-ttl=1s',
        `--out=${out}`,
      ],
      { cwd: repoRoot, stdio: 'pipe', timeout: 60_000 },
    );
    const result = JSON.parse(readFileSync(join(out, 'soak-latest.json'), 'utf8'));
    expect(result.mode).toBe('custom');
    expect(result.totals.waves).toBeGreaterThan(1);
    expect(result.totals.connections).toBe(result.totals.waves * 20);
    expect(result.totals.acked).toBe(result.totals.connections * 3);
    // Socket 0 of each wave sends one invalid message on purpose.
    expect(result.totals.refusedAsExpected).toBe(result.totals.waves);
    expect(result.errors).toEqual({});
    expect(result.serverErrors).toEqual([]);
    expect(result.handles.atEnd.sockets).toBe(0);
    expect(result.handles.leaked).toBe(0);
    expect(result.memory.idle.map((m: { label: string }) => m.label)).toEqual([
      'after warm-up',
      'at the end',
    ]);
    expect(result.growthAfterWarmup.idle.heapPercent).toEqual(expect.any(Number));
    // The per-user memory bound row: the CJK attacker ran within the default limits.
    expect(result.perUserBound.acked).toBeGreaterThan(0);
    expect(result.perUserBound.refused).toBe(0);
    expect(result.perUserBound.heapAfter).toEqual(expect.any(Number));
    expect(readFileSync(join(out, 'soak-latest.md'), 'utf8')).toContain('| heap used, idle |');
    expect(readFileSync(join(out, 'soak-latest.md'), 'utf8')).toContain('acked 63 KB CJK results');
    expect(readFileSync(join(out, 'soak-heap.svg'), 'utf8')).toMatch(/^<svg /);
  }, 90_000);
});
