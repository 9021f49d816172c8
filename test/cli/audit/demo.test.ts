import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALL_CHECKS } from '../../../src/cli/audit/catalogue.js';
import { type AuditReport, auditReportSchema } from '../../../src/cli/audit/index.js';
import { type Child, freePort, startChild, startDemo } from '../../helpers/process.js';
import { repoRoot } from '../../helpers/project.js';
import { readReports, tempDir } from './run-audit.js';

const DEMO_SECRET = 'audit-demo-secret-audit-demo-secret-0123';

// One audit per demo process: the demo's defences (auth failures per IP, upgrade attempts per
// IP, the penalty ladder) are meant to stop a second run from the same address.
describe('audit --full against the demo server (npm start)', () => {
  let demo: Child;
  let code: number | null;
  let output: string;
  let report: AuditReport;
  let markdown: string;
  const out = tempDir();

  beforeAll(async () => {
    const port = await freePort();
    // A known secret, so the signed-token JWT checks (--secret) run against the demo too.
    demo = startDemo(port, { WSGUARD_JWT_SECRET: DEMO_SECRET });
    await demo.waitFor(/listening/);
    const devToken = async () =>
      ((await (await fetch(`http://127.0.0.1:${port}/dev-token`)).json()) as { token: string }).token;
    const [token, other] = [await devToken(), await devToken()];
    const child = startChild(
      process.execPath,
      [
        'scripts/websocket-security-audit.js',
        `--url=ws://127.0.0.1:${port}/ws`,
        `--token=${token}`,
        `--other-token=${other}`,
        `--secret=${DEMO_SECRET}`,
        `--out=${out.dir}`,
        '--full',
        '--connections=8',
        '--messages=40',
        '--duration=1',
        // Far above the demo's budget (100 per socket), so a slow machine's refill cannot hide the limit.
        '--burst=600',
        '--verbose',
      ],
      { cwd: repoRoot },
    );
    code = await new Promise<number | null>((r) => child.proc.once('exit', r));
    output = child.output();
    ({ report, markdown } = readReports(out.dir));
    // Paced just under the 30 upgrades a minute the demo announces: the run takes about a minute.
  }, 300_000);
  afterAll(async () => {
    await demo.stop();
    out.cleanup();
  });

  it('paces its upgrades by the limit the demo announces: no lockout, and says what is left', () => {
    expect(report.politeness).toMatchObject({
      lockout: null,
      announced: { max: 30, windowMs: 60_000 },
      pace: { max: 27, windowMs: 61_000 },
    });
    expect(output).toMatch(
      /No sign that the server limited your address \(\d+ upgrades, at most 27 per 61 s under its announced 30 per 60 s; \d+ upgrades? (is|are) left/,
    );
  });

  it('finds nothing high or critical, exit 0', () => {
    const serious = report.findings.filter(
      (f) =>
        (f.result === 'fail' || f.result === 'warn') && (f.severity === 'high' || f.severity === 'critical'),
    );
    expect(serious).toEqual([]);
    expect(report.summary.bySeverity).toMatchObject({ critical: 0, high: 0 });
    expect(report.summary.failed).toBe(false);
    expect(code).toBe(0);
    expect(output).toContain('Passed: no finding at or above high.');
  });

  it('runs every check of the catalogue once, none of them broken', () => {
    expect(report.findings.map((f) => f.id).sort()).toEqual(ALL_CHECKS.map((c) => c.id).sort());
    expect(report.findings.filter((f) => f.result === 'error')).toEqual([]);
  });

  it("sees wsguard's defences: each attack refused", () => {
    const passed = new Set(report.findings.filter((f) => f.result === 'pass').map((f) => f.id));
    for (const id of [
      'auth.no-token',
      'auth.garbage-token',
      'auth.expired-token',
      'auth.alg-none',
      'auth.query-token',
      'auth.query-token-echo',
      'auth.timeout',
      'origin.legitimate',
      'origin.foreign',
      'origin.null',
      'origin.attacker-subdomain',
      'origin.attacker-prefix',
      'origin.host-suffix',
      'origin.case-variant',
      'origin.other-port',
      'csrf.missing',
      'csrf.wrong',
      'input.size-64k',
      'input.size-1m',
      'input.binary',
      'input.invalid-json',
      'input.deep-nesting',
      'input.prototype-pollution',
      'input.unknown-type',
      'errors.stack-trace',
      'errors.file-path',
      'errors.exception',
      'errors.version',
      'session.id-entropy',
      'session.csrf-entropy',
      'session.expiry',
      'session.refresh-forged',
      'session.refresh-other-subject',
      'session.outlives-token',
      'transport.deflate-unbounded',
      'rate-limit.burst',
      'performance.latency',
    ])
      expect(passed, id).toContain(id);
    expect(report.findings.find((f) => f.id === 'auth.timeout')?.detail).toMatch(
      /^closed 4408 WSG_AUTH_TIMEOUT/,
    );
    // The demo leaves /metrics open (its template says to set metricsToken in production).
    expect(report.findings.find((f) => f.id === 'monitoring.metrics-public')).toMatchObject({
      result: 'fail',
      severity: 'medium',
      cwe: 'CWE-200',
    });
  });

  it('the JSON report validates against its schema', () => {
    const parsed = auditReportSchema.safeParse(report);
    expect(parsed.success, JSON.stringify(parsed.error?.issues)).toBe(true);
    expect(report).toMatchObject({
      schemaVersion: 3,
      tool: { name: 'wsguard audit', version: expect.any(String) },
      protocol: { name: 'wsguard', how: 'detected', evidence: 'auth with --token answered auth_ok' },
      options: { full: true, failOn: 'high', bounds: { connections: 8, messages: 40, durationMs: 1000 } },
    });
    expect(Date.parse(report.finishedAt)).toBeGreaterThanOrEqual(Date.parse(report.startedAt));
    // A report that breaks the schema is refused (the schema is not a pass-through).
    expect(
      auditReportSchema.safeParse({ ...report, findings: [{ ...report.findings[0], severity: 'urgent' }] })
        .success,
    ).toBe(false);
  });

  it('the Markdown report renders the summary table', () => {
    // The URL is escaped like every text in the report (`:` before `//` cannot start an autolink).
    expect(markdown).toContain(`# WebSocket security audit: ${report.target.url.replace('://', '\\://')}`);
    const table = [
      '| Severity | Findings |',
      '| -------- | -------- |',
      '| critical | 0 |',
      '| high | 0 |',
      '| medium | 1 |',
    ];
    expect(markdown).toContain(table.join('\n'));
    expect(markdown).toMatch(/### \[MEDIUM\] `monitoring\.metrics-public`[^\n]*\n/);
    expect(markdown).toContain('Remediation: Protect the metrics endpoint');
  });

  it('prints a line per check, and with --verbose what each check is about to send', () => {
    for (const f of report.findings)
      expect(output).toMatch(new RegExp(`[✔✖!\\-?] ${f.id.replace('.', '\\.')} `));
    expect(output).toMatch(
      /→ input\.size-1m: authenticates on a new socket and sends one 1048576-byte message/,
    );
    expect(output).toMatch(/bounds: answers 2000 ms, bursts ≤ 600 messages, flood ≤ 8 sockets/);
  });
});
