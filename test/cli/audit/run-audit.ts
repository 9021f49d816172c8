import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type AuditReport, main } from '../../../src/cli/audit/index.js';

/** An audit's outcome as a test reads it. */
export interface AuditRun {
  code: number;
  out: string;
  err: string;
  report: AuditReport;
  markdown: string;
}

/** Reads the one JSON and Markdown report pair written into `dir`. */
export function readReports(dir: string): { report: AuditReport; markdown: string } {
  const files = readdirSync(dir);
  const json = files.find((f) => f.endsWith('.json'));
  const md = files.find((f) => f.endsWith('.md'));
  if (!json || !md) throw new Error(`no report pair in ${dir}: ${files.join(', ')}`);
  return {
    report: JSON.parse(readFileSync(join(dir, json), 'utf8')) as AuditReport,
    markdown: readFileSync(join(dir, md), 'utf8'),
  };
}

export function tempDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'wsguard-audit-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Runs `wsguard audit` in this process against `url`, with reports in a temporary directory. */
export async function audit(url: string, args: string[] = []): Promise<AuditRun> {
  const { dir, cleanup } = tempDir();
  const out: string[] = [];
  const err: string[] = [];
  try {
    // Fixtures count no upgrades: no pacing unless a test asks for it (a later flag wins).
    const code = await main(
      [`--url=${url}`, `--out=${dir}`, '--timeout=1000', '--upgrades-per-minute=10000', ...args],
      {
        out: (l) => out.push(l),
        err: (l) => err.push(l),
      },
    );
    return { code, out: out.join('\n'), err: err.join('\n'), ...readReports(dir) };
  } finally {
    cleanup();
  }
}

/** The finding with `id` (throws when the audit did not run it). */
export function finding(report: AuditReport, id: string) {
  const f = report.findings.find((x) => x.id === id);
  if (!f) throw new Error(`no ${id} in the report: ${report.findings.map((x) => x.id).join(', ')}`);
  return f;
}
