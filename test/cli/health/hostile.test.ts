// The CLIs pointed at a hostile server: they end within their deadline, stay within 150 MB,
// print no escape sequence, and report oversized answers.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { ESCAPES, type HostileMode, startHostile } from '../../fixtures/hostile-server.js';
import type { FixtureServer } from '../../fixtures/raw.js';
import { repoRoot } from '../../helpers/project.js';
import { readReports, tempDir } from '../audit/run-audit.js';

const RSS_LIMIT_KB = 150 * 1024;

interface Watched {
  code: number | null;
  stdout: string;
  stderr: string;
  /** Peak resident set (VmHWM) of the child, kB: the last reading before it exited. */
  peakKb: number;
  ms: number;
}

/** Runs a CLI script as a child, reading its VmHWM every 50 ms; kills it after `killAfterMs`. */
function watch(script: string, args: string[], killAfterMs: number): Promise<Watched> {
  const start = performance.now();
  const child = spawn(process.execPath, [script, ...args], { cwd: repoRoot, stdio: 'pipe' });
  let stdout = '';
  let stderr = '';
  let peakKb = 0;
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString('latin1');
  });
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString('latin1');
  });
  const poll = setInterval(() => {
    try {
      const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
      if (m) peakKb = Math.max(peakKb, Number(m[1]));
    } catch {}
  }, 50);
  const kill = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
  return new Promise((resolve) =>
    child.once('exit', (code) => {
      clearInterval(poll);
      clearTimeout(kill);
      resolve({ code, stdout, stderr, peakKb, ms: Math.round(performance.now() - start) });
    }),
  );
}

const health = (url: string, extra: string[] = []) =>
  watch('scripts/test-websocket-health.js', [`--url=${url}`, '--samples=2', ...extra], 90_000);

// No escape byte at all: ESC, BEL, C1 CSI (UTF-8 C2 9B, read as latin1), bidi override (E2 80 AE).
// biome-ignore lint/suspicious/noControlCharactersInRegex: the bytes a terminal would run.
const RAW_ESCAPES = /\x1b|\x07|\xc2\x9b|\xe2\x80\xae/;

const measured: Record<string, { peakMb: number; ms: number; code: number | null }> = {};

describe('the CLIs against a hostile server', () => {
  let srv: FixtureServer | undefined;
  afterEach(async () => {
    await srv?.close();
    srv = undefined;
  });

  const start = async (mode: HostileMode) => {
    srv = await startHostile(mode);
    return srv.url;
  };
  const record = (name: string, r: Watched) => {
    measured[name] = { peakMb: Math.round(r.peakKb / 1024), ms: r.ms, code: r.code };
    console.log(`${name}: exit ${r.code}, peak RSS ${Math.round(r.peakKb / 1024)} MB, ${r.ms} ms`);
  };

  it('health, silent server: ends (exit 1) within --deadline instead of hanging', async () => {
    const r = await health(await start('silent'), ['--deadline=20']);
    record('health silent', r);
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(r.peakKb).toBeLessThan(RSS_LIMIT_KB);
  }, 100_000);

  it('health, 30 MB frames: refused unread (1 MiB bound), under 150 MB', async () => {
    const r = await health(await start('huge-frames'), ['--deadline=30']);
    record('health huge-frames', r);
    expect(r.code).not.toBeNull();
    expect(r.peakKb).toBeGreaterThan(0);
    expect(r.peakKb).toBeLessThan(RSS_LIMIT_KB);
  }, 100_000);

  it('health, compressed bomb before auth_ok: no compression offered, under 150 MB', async () => {
    const r = await health(await start('bomb'), ['--deadline=30']);
    record('health bomb', r);
    expect(r.code).not.toBeNull();
    expect(r.stderr).not.toMatch(/heap out of memory/);
    expect(r.peakKb).toBeLessThan(RSS_LIMIT_KB);
  }, 100_000);

  it('health, escape sequences in replies: shown escaped, never raw (lines and --json)', async () => {
    const url = await start('escapes');
    const r = await health(url, ['--verbose', '--deadline=60']);
    record('health escapes', r);
    expect(r.stdout + r.stderr).not.toMatch(RAW_ESCAPES);
    expect(r.stdout).toMatch(/\\x1b\[2J/);
    const j = await health(url, ['--json', '--deadline=60']);
    expect(j.stdout).not.toMatch(RAW_ESCAPES);
    const parsed = JSON.parse(Buffer.from(j.stdout, 'latin1').toString('utf8')) as {
      checks: { detail?: string }[];
    };
    expect(parsed.checks.some((c) => c.detail?.includes(ESCAPES))).toBe(true);
  }, 100_000);

  it('health, slow drip of a frame: ends within --deadline', async () => {
    const r = await health(await start('drip'), ['--deadline=15']);
    record('health drip', r);
    expect(r.code, r.stdout + r.stderr).toBe(1);
  }, 100_000);

  for (const mode of ['huge-frames', 'big-body', 'drip', 'escapes'] as const)
    it(`audit, ${mode}: ends, under 150 MB, nothing raw on stdout${mode === 'huge-frames' || mode === 'big-body' ? ', oversized answers reported' : ''}`, async () => {
      const url = await start(mode);
      const out = tempDir();
      try {
        const r = await watch(
          'scripts/websocket-security-audit.js',
          [
            `--url=${url}`,
            `--out=${out.dir}`,
            '--timeout=500',
            '--upgrades-per-minute=10000',
            '--auth-wait=2',
          ],
          120_000,
        );
        record(`audit ${mode}`, r);
        expect(r.code, r.stderr).not.toBeNull();
        expect(r.peakKb).toBeLessThan(RSS_LIMIT_KB);
        expect(r.stdout + r.stderr).not.toMatch(RAW_ESCAPES);
        if (mode === 'huge-frames' || mode === 'big-body') {
          const { report } = readReports(out.dir);
          expect(report.findings.find((f) => f.id === 'transport.oversized-answers')).toMatchObject({
            result: 'fail',
            severity: 'low',
          });
        }
      } finally {
        out.cleanup();
      }
    }, 130_000);
});
