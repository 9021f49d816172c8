import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { escapeMarkdown, escapeTerminal } from '../escape.js';
import { toSarif } from './sarif.js';
import type { AuditReport } from './schema.js';
import { isFinding, SEVERITIES, severityRank } from './types.js';

// Server text (details, evidence) and user text (URL, origin) are escaped: a report must not
// render a link, an image or HTML a target chose.
const cell = (s: string) => escapeMarkdown(s);
const block = (lines: string[]) => [
  '~~~',
  ...lines.map((l) => escapeTerminal(l).replace(/~~~/g, '~ ~ ~')),
  '~~~',
];

/** The Markdown report: summary table, then each finding with evidence and remediation. */
export function renderMarkdown(report: AuditReport): string {
  const findings = report.findings
    .filter(isFinding)
    .sort((a, b) => severityRank(b.severity) - severityRank(a.severity));
  const others = report.findings.filter((f) => !isFinding(f) && f.result !== 'n/a');
  const notApplicable = report.findings.filter((f) => f.result === 'n/a').map((f) => `\`${f.id}\``);
  const out: string[] = [
    `# WebSocket security audit: ${cell(report.target.url)}`,
    '',
    `- Tool: ${report.tool.name} ${report.tool.version} (report schema ${report.schemaVersion})`,
    `- Target: ${cell(report.target.url)}, legitimate origin ${cell(report.target.origin)}, round trip ≤ ${report.measured.rttMs} ms`,
    `- Protocol: ${report.protocol.name} (${report.protocol.how}: ${cell(report.protocol.evidence)})${report.protocol.name === 'wsguard' ? '' : '; wsguard-only checks are n/a'}`,
    `- Started: ${report.startedAt}, finished: ${report.finishedAt} (${Math.round(report.durationMs / 100) / 10} s)`,
    `- Mode: ${report.options.full ? 'full (performance and stress included)' : 'standard'}${report.options.only ? `, only ${report.options.only.join(', ')}` : ''}`,
    `- Verdict: ${report.summary.failed ? `**failed** (a finding at or above ${report.options.failOn})` : `passed (no finding at or above ${report.options.failOn})`}`,
    '',
    '## Summary',
    '',
    '| Severity | Findings |',
    '| -------- | -------- |',
    ...[...SEVERITIES].reverse().map((s) => `| ${s} | ${report.summary.bySeverity[s]} |`),
    '',
    `Checks: ${Object.entries(report.summary.byResult)
      .map(([r, n]) => `${n} ${r}`)
      .join(', ')}.`,
    '',
    '## Findings',
    '',
  ];
  if (findings.length === 0) out.push('None.', '');
  for (const f of findings) {
    out.push(
      `### [${f.severity.toUpperCase()}] \`${f.id}\`: ${f.title}`,
      '',
      `- Result: ${f.result}${f.cwe ? `, [${f.cwe}](https://cwe.mitre.org/data/definitions/${f.cwe.slice(4)}.html)` : ''}`,
      `- Observed: ${cell(f.detail)}`,
      '',
      'Evidence (sent, then received):',
      '',
      ...block([...f.evidence.sent.map((l) => `> ${l}`), ...f.evidence.received.map((l) => `< ${l}`)]),
      '',
      `Remediation: ${f.remediation}`,
      '',
    );
  }
  out.push(
    '## Other checks',
    '',
    '| Check | Result | Severity if failing | Observed |',
    '| ----- | ------ | ------------------- | -------- |',
  );
  for (const f of others) out.push(`| \`${f.id}\` | ${f.result} | ${f.severity} | ${cell(f.detail)} |`);
  out.push('');
  if (notApplicable.length)
    out.push(
      `Not applicable to ${report.protocol.name} (wsguard-only, \`n/a\`): ${notApplicable.join(', ')}.`,
      '',
    );
  return out.join('\n');
}

/**
 * Writes `<timestamp>.json` and `<timestamp>.md` (and `<timestamp>.sarif` with `sarif`) into
 * `dir` (created when missing); returns the paths.
 */
export async function writeReports(
  report: AuditReport,
  dir: string,
  options: { sarif?: boolean } = {},
): Promise<{ json: string; md: string; sarif?: string }> {
  await mkdir(dir, { recursive: true });
  const stamp = report.startedAt.replace(/[:.]/g, '-');
  const json = join(dir, `${stamp}.json`);
  const md = join(dir, `${stamp}.md`);
  await writeFile(json, `${JSON.stringify(report, null, 2)}\n`);
  await writeFile(md, renderMarkdown(report));
  if (!options.sarif) return { json, md };
  const sarif = join(dir, `${stamp}.sarif`);
  await writeFile(sarif, `${JSON.stringify(toSarif(report), null, 2)}\n`);
  return { json, md, sarif };
}
