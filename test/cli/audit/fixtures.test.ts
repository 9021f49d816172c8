import { afterEach, describe, expect, it } from 'vitest';
import { main } from '../../../src/cli/audit/index.js';
import { startBareEcho } from '../../fixtures/bare-echo.js';
import {
  startNoCsrfNoEcho,
  startNoRateLimit,
  startNoSizeLimit,
  startOriginAllowList,
  startTwoPerUser,
} from '../../fixtures/guarded.js';
import type { FixtureServer } from '../../fixtures/raw.js';
import { startStackTrace } from '../../fixtures/stack-trace.js';
import { startSubstringOrigin } from '../../fixtures/substring-origin.js';
import { startTrickle } from '../../fixtures/trickle.js';
import { startUntrustedTls } from '../../fixtures/untrusted-tls.js';
import { startChild } from '../../helpers/process.js';
import { repoRoot } from '../../helpers/project.js';
import { startServer } from '../../helpers/server.js';
import { audit, finding, tempDir } from './run-audit.js';

const failed = (r: Awaited<ReturnType<typeof audit>>) =>
  r.report.findings.filter((f) => f.result === 'fail').map((f) => f.id);

describe('audit against weak servers', () => {
  let srv: FixtureServer | undefined;
  afterEach(async () => {
    await srv?.close();
    srv = undefined;
  });

  it('a bare ws echo server: no authentication (critical), no origin check, no CSRF, no limits; exit 1', async () => {
    srv = await startBareEcho();
    // Forced: detected as raw, the CSRF and rate-limit checks would be n/a (test/cli/audit/protocols.test.ts).
    const run = await audit(srv.url, ['--protocol=wsguard']);
    expect(finding(run.report, 'auth.no-token')).toMatchObject({
      result: 'fail',
      severity: 'critical',
      cwe: 'CWE-306',
    });
    for (const id of ['origin.foreign', 'origin.null'])
      expect(finding(run.report, id)).toMatchObject({ result: 'fail', severity: 'high', cwe: 'CWE-1385' });
    expect(finding(run.report, 'csrf.missing')).toMatchObject({ result: 'fail', severity: 'medium' });
    expect(finding(run.report, 'input.size-64k')).toMatchObject({ result: 'fail', severity: 'low' });
    expect(finding(run.report, 'input.size-1m')).toMatchObject({ result: 'fail', severity: 'medium' });
    expect(finding(run.report, 'rate-limit.burst')).toMatchObject({ result: 'fail', severity: 'medium' });
    // Token checks make no sense without authentication: skipped, not failed.
    expect(finding(run.report, 'auth.alg-none')).toMatchObject({ result: 'skip' });
    expect(run.report.findings.filter((f) => f.result === 'error')).toEqual([]);
    expect(run.report.summary.failed).toBe(true);
    expect(run.code).toBe(1);
    expect(run.out).toMatch(/✖ auth\.no-token\s+\d+ ms {2}\[critical\] handled without a token/);
    expect(run.markdown).toMatch(
      /### \[CRITICAL\] `auth\.no-token`: Messages handled without authentication/,
    );
    expect(run.markdown).toContain('> {"id":"audit-');
  });

  it('substring origin matching: every look-alike origin is reported high, the plain foreign one passes', async () => {
    srv = await startSubstringOrigin();
    const run = await audit(srv.url, ['--only=origin']);
    for (const id of [
      'origin.attacker-subdomain',
      'origin.attacker-prefix',
      'origin.host-suffix',
      'origin.case-variant',
    ])
      expect(finding(run.report, id), id).toMatchObject({
        result: 'fail',
        severity: 'high',
        cwe: 'CWE-1385',
      });
    expect(finding(run.report, 'origin.other-port')).toMatchObject({ result: 'fail', severity: 'medium' });
    expect(finding(run.report, 'origin.foreign')).toMatchObject({ result: 'pass' });
    expect(finding(run.report, 'origin.null')).toMatchObject({ result: 'pass' });
    expect(finding(run.report, 'origin.attacker-subdomain').evidence).toEqual({
      sent: [expect.stringMatching(/Origin: http:\/\/127\.0\.0\.1\.evil\.example:\d+$/)],
      received: ['HTTP 101'],
    });
    expect(run.report.findings.every((f) => f.category === 'origin')).toBe(true);
  });

  it('stack traces in error replies: stack frames and file paths (medium), exception text (low)', async () => {
    srv = await startStackTrace();
    const run = await audit(srv.url, ['--only=errors']);
    expect(finding(run.report, 'errors.stack-trace')).toMatchObject({
      result: 'fail',
      severity: 'medium',
      cwe: 'CWE-209',
    });
    expect(finding(run.report, 'errors.file-path')).toMatchObject({
      result: 'fail',
      severity: 'medium',
      cwe: 'CWE-209',
    });
    expect(finding(run.report, 'errors.exception')).toMatchObject({ result: 'fail', severity: 'low' });
    expect(finding(run.report, 'errors.stack-trace').evidence.received[0]).toMatch(/at JSON\.parse/);
    expect(finding(run.report, 'errors.version')).toMatchObject({ result: 'pass' });
  });

  it('no size limit: the 64 KiB + 1 (low) and 1 MiB (medium) messages are reported, the other input checks pass', async () => {
    srv = await startNoSizeLimit();
    const run = await audit(srv.url, ['--only=input']);
    expect(finding(run.report, 'input.size-64k')).toMatchObject({
      result: 'fail',
      severity: 'low',
      cwe: 'CWE-770',
    });
    expect(finding(run.report, 'input.size-1m')).toMatchObject({
      result: 'fail',
      severity: 'medium',
      cwe: 'CWE-770',
    });
    expect(failed(run).sort()).toEqual(['input.size-1m', 'input.size-64k']);
    expect(run.code).toBe(0);
    expect(await audit(srv.url, ['--only=input.size-1m', '--fail-on=medium']).then((r) => r.code)).toBe(1);
  });

  it('no rate limit: the bounded burst is reported (medium) and nothing else fails', async () => {
    srv = await startNoRateLimit();
    const run = await audit(srv.url, ['--burst=150']);
    expect(finding(run.report, 'rate-limit.burst')).toMatchObject({
      result: 'fail',
      severity: 'medium',
      cwe: 'CWE-770',
      detail: '150 messages in a burst, none refused',
    });
    expect(finding(run.report, 'rate-limit.escalation')).toMatchObject({ result: 'skip' });
    // The test server, like the demo, leaves /metrics open.
    expect(failed(run).sort()).toEqual(['monitoring.metrics-public', 'rate-limit.burst']);
    expect(run.report.findings.filter((f) => f.result === 'error')).toEqual([]);
  });

  it('wss:// with a self-signed certificate: exit 2 with one line; with --insecure, transport.tls fails high', async () => {
    srv = await startUntrustedTls();
    const err: string[] = [];
    const code = await main([`--url=${srv.url}`], { out: () => {}, err: (l) => err.push(l) });
    expect(code).toBe(2);
    expect(err).toEqual([
      expect.stringMatching(
        /^wsguard audit: cannot reach wss:\/\/127\.0\.0\.1:\d+\/ws \(self[- ]signed certificate; pass --insecure to audit it anyway, transport\.tls reports the certificate\)$/,
      ),
    ]);
    const run = await audit(srv.url, ['--insecure', '--only=transport']);
    expect(finding(run.report, 'transport.tls')).toMatchObject({
      result: 'fail',
      severity: 'high',
      cwe: 'CWE-295',
      detail: 'certificate not trusted: DEPTH_ZERO_SELF_SIGNED_CERT',
    });
    expect(finding(run.report, 'transport.plain-ws')).toMatchObject({ result: 'pass' });
  });

  it('a server that throttles the auditor: the refused checks are skipped, never reported as findings', async () => {
    const guarded = await startServer({
      auth: { verify: (t) => (t === 'test_token' ? { id: 'audit-user' } : null) },
      limits: { connectionsPerIp: { max: 4, windowMs: 60_000 } },
    });
    srv = { url: guarded.url, close: () => guarded.close() };
    const run = await audit(srv.url, ['--only=origin']);
    const skipped = run.report.findings.filter((f) => f.result === 'skip');
    expect(skipped.length).toBeGreaterThan(0);
    // The first 429 stops the run: that check says why, the later ones that they were not run.
    const [first, ...rest] = skipped;
    expect(first?.detail).toMatch(/^the server throttled the auditor: HTTP 429/);
    for (const f of rest)
      expect(f.detail).toBe(`not run: the server locked the auditor out during ${first?.id}`);
    expect(run.report.politeness.lockout).toMatchObject({ check: first?.id });
    expect(run.out).toMatch(/Your address may now be limited: the server refused the auditor during /);
    expect(run.report.findings.filter((f) => f.result === 'fail' || f.result === 'error')).toEqual([]);
    expect(run.code).toBe(0);
  });
  it('an origin allow-list: with --origin the auth, CSRF and input checks run (none skipped as throttled)', async () => {
    srv = await startOriginAllowList();
    const run = await audit(srv.url, [
      '--origin=https://app.example.com',
      '--only=auth,csrf,input,transport',
    ]);
    const ids = ['auth.no-token', 'csrf.missing', 'csrf.wrong', 'input.size-64k', 'input.size-1m'];
    for (const id of ids) expect(finding(run.report, id).result, id).toBe('pass');
    for (const f of run.report.findings)
      expect(f.detail, f.id).not.toMatch(/throttled|refused a new connection/);
    expect(run.report.findings.filter((f) => f.result === 'error' || f.result === 'fail')).toEqual([]);
    // Without --origin the default origin is refused: reported as an error, never as throttling.
    const wrong = await audit(srv.url, ['--only=auth.no-token']);
    expect(finding(wrong.report, 'auth.no-token')).toMatchObject({
      result: 'error',
      detail: expect.stringMatching(
        /refused the Origin http:\/\/127\.0\.0\.1:\d+ \(HTTP 403 WSG_ORIGIN_FORBIDDEN\)/,
      ),
    });
  });
  it('two sockets per user and --only=rate-limit: the audit and the script both end (no socket left open)', async () => {
    srv = await startTwoPerUser();
    const bound = <T>(work: Promise<T>, what: string) =>
      Promise.race([
        work,
        new Promise<never>((_r, reject) =>
          setTimeout(() => reject(new Error(`${what} never ended`)), 60_000),
        ),
      ]);
    const run = await bound(audit(srv.url, ['--only=rate-limit']), 'the audit');
    // The second of the reconnect check's two sockets is refused; the first must still be closed.
    expect(finding(run.report, 'rate-limit.reconnect')).toMatchObject({
      result: 'skip',
      detail: expect.stringMatching(/WSG_TOO_MANY_CONNECTIONS/),
    });
    const out = tempDir();
    const child = startChild(
      process.execPath,
      [
        'scripts/websocket-security-audit.js',
        `--url=${srv.url}`,
        '--only=rate-limit',
        '--timeout=1000',
        `--out=${out.dir}`,
      ],
      { cwd: repoRoot },
    );
    try {
      const code = await bound(new Promise<number | null>((r) => child.proc.once('exit', r)), 'the script');
      expect(code, child.output()).toBe(0);
    } finally {
      await child.stop();
      out.cleanup();
    }
  }, 90_000);
  it('a /healthz that trickles a byte every 500 ms: --timeout=500 ends the request, the check errors with the reason', async () => {
    srv = await startTrickle();
    const run = await audit(srv.url, ['--only=monitoring', '--timeout=500']);
    expect(finding(run.report, 'monitoring.healthz')).toMatchObject({
      result: 'error',
      detail: expect.stringMatching(
        /^no complete answer from http:\/\/127\.0\.0\.1:\d+\/healthz within \d+ ms \(--timeout plus two round trips\)$/,
      ),
    });
  }, 60_000);
  it('CSRF off and no echo type: csrf checks are inconclusive (skip), not passed on WSG_UNKNOWN_TYPE', async () => {
    srv = await startNoCsrfNoEcho();
    const run = await audit(srv.url, ['--only=csrf']);
    for (const id of ['csrf.missing', 'csrf.wrong'])
      expect(finding(run.report, id), id).toMatchObject({
        result: 'skip',
        detail:
          'the server refused the message for another reason: WSG_UNKNOWN_TYPE; use --type with a type that accepts the probe payload',
      });
  });
});
