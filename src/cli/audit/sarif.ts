import type { AuditReport } from './schema.js';
import { isFinding, type Severity } from './types.js';

const LEVEL: Record<Severity, 'error' | 'warning' | 'note'> = {
  critical: 'error',
  high: 'error',
  medium: 'warning',
  low: 'note',
  info: 'note',
};

/** GitHub code scanning reads `security-severity` (0-10) to rank security results. */
const SCORE: Record<Severity, string> = {
  critical: '9.5',
  high: '8.0',
  medium: '5.5',
  low: '3.0',
  info: '0.0',
};

/**
 * The report as SARIF 2.1.0 for code-scanning dashboards: one rule per check that ran, one
 * result per finding (failed or warned check), located at the audited URL.
 */
export function toSarif(report: AuditReport): Record<string, unknown> {
  // n/a checks did not run: no rule for them.
  const rules = report.findings
    .filter((f) => f.result !== 'n/a')
    .map((f) => ({
      id: f.id,
      name: f.id,
      shortDescription: { text: f.title },
      help: { text: f.remediation },
      ...(f.cwe ? { helpUri: `https://cwe.mitre.org/data/definitions/${f.cwe.slice(4)}.html` } : {}),
      defaultConfiguration: { level: LEVEL[f.severity] },
      properties: {
        tags: ['security', f.category, ...(f.cwe ? [f.cwe] : [])],
        'security-severity': SCORE[f.severity],
      },
    }));
  const results = report.findings.filter(isFinding).map((f) => ({
    ruleId: f.id,
    ruleIndex: rules.findIndex((r) => r.id === f.id),
    level: LEVEL[f.severity],
    message: { text: `${f.title}: ${f.detail}` },
    locations: [{ physicalLocation: { artifactLocation: { uri: report.target.url } } }],
    properties: { result: f.result, severity: f.severity, evidence: f.evidence },
  }));
  return {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'wsguard audit',
            version: report.tool.version,
            informationUri: 'https://github.com/wsguard/wsguard/blob/main/docs/audit.md',
            rules,
          },
        },
        properties: { protocol: report.protocol },
        invocations: [
          { executionSuccessful: true, startTimeUtc: report.startedAt, endTimeUtc: report.finishedAt },
        ],
        results,
      },
    ],
  };
}
