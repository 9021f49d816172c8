// Each server here used to get a false verdict from the audit; the comment on each test says which.
import { afterEach, describe, expect, it } from 'vitest';
import { looksLikePrometheus } from '../../../src/cli/audit/checks/monitoring.js';
import { burstWindow } from '../../../src/cli/audit/checks/rate-limit.js';
import { main } from '../../../src/cli/audit/index.js';
import { resolvesToLoopback } from '../../../src/cli/audit/net.js';
import { hs256 } from '../../../src/cli/audit/signer.js';
import type { FixtureServer } from '../../fixtures/raw.js';
import {
  startAnyErrorNoLimit,
  startCatchAll,
  startCookieOnly,
  startCrashOnArray,
  startHeaderTimeout,
  startMarkdownInjection,
  startNoHeaderTimeout,
  startOpenMetrics,
  startSkipsExp,
  startSlowLinkLimited,
} from '../../fixtures/verdicts.js';
import { audit, finding } from './run-audit.js';

const SECRET = 'fixture-secret-fixture-secret-0123456789';
const now = () => Math.floor(Date.now() / 1000);

describe('right verdicts', () => {
  let srv: FixtureServer | undefined;
  afterEach(async () => {
    await srv?.close();
    srv = undefined;
  });

  it('input.size-*: an error that is not a size refusal is a failure (was: pass on any error reply)', async () => {
    srv = await startAnyErrorNoLimit();
    const run = await audit(srv.url, ['--only=input.size-64k,input.size-1m']);
    for (const id of ['input.size-64k', 'input.size-1m'])
      expect(finding(run.report, id), id).toMatchObject({
        result: 'fail',
        detail: expect.stringMatching(/was read in full: error WSG_UNKNOWN_TYPE$/),
      });
    expect(finding(run.report, 'input.size-1m').severity).toBe('medium');
  });

  it('origin: refusing every origin, the legitimate one included, is inconclusive (was: pass)', async () => {
    srv = await startCookieOnly();
    const run = await audit(srv.url, ['--only=origin']);
    expect(finding(run.report, 'origin.legitimate')).toMatchObject({ result: 'warn', severity: 'info' });
    for (const id of ['origin.foreign', 'origin.null', 'origin.attacker-subdomain', 'origin.other-port'])
      expect(finding(run.report, id), id).toMatchObject({
        result: 'warn',
        severity: 'info',
        detail: expect.stringMatching(/is refused too: inconclusive/),
      });
    expect(run.report.findings.filter((f) => f.result === 'pass').map((f) => f.id)).not.toContain(
      'origin.foreign',
    );
  });

  it('rate-limit.burst over a 100 ms link meets a 200/s limit (was: fail, 10 messages per round trip)', async () => {
    srv = await startSlowLinkLimited();
    const run = await audit(srv.url, ['--only=rate-limit.burst', '--burst=300']);
    expect(run.report.measured.rttMs).toBeGreaterThanOrEqual(100);
    expect(finding(run.report, 'rate-limit.burst')).toMatchObject({
      result: 'pass',
      detail: expect.stringMatching(/WSG_RATE_LIMITED/),
    });
    expect(burstWindow(1)).toBe(10);
    expect(burstWindow(100)).toBe(50);
    expect(burstWindow(10_000)).toBe(100);
  });

  it('stress.slow-headers fails when no slow upgrade is closed within the run (was: always pass)', async () => {
    srv = await startNoHeaderTimeout();
    const weak = await audit(srv.url, [
      '--full',
      '--only=stress.slow-headers',
      '--duration=2',
      '--connections=3',
    ]);
    expect(finding(weak.report, 'stress.slow-headers')).toMatchObject({
      result: 'fail',
      severity: 'low',
      detail: expect.stringMatching(/^3 slow upgrades held [\d.]+ s, none closed/),
    });
    await srv.close();
    srv = await startHeaderTimeout();
    const good = await audit(srv.url, [
      '--full',
      '--only=stress.slow-headers',
      '--duration=3',
      '--connections=3',
    ]);
    expect(finding(good.report, 'stress.slow-headers')).toMatchObject({ result: 'pass' });
  }, 30_000);

  it('auth.expired-token: a signed expired token reaches a server that skips exp (was: pass, the tampered signature was refused)', async () => {
    srv = await startSkipsExp(SECRET);
    const token = hs256({ sub: 'audit-user', iat: now(), exp: now() + 3600 }, SECRET);
    const withKey = await audit(srv.url, [`--token=${token}`, `--secret=${SECRET}`, '--only=auth']);
    expect(finding(withKey.report, 'auth.expired-token')).toMatchObject({
      result: 'fail',
      severity: 'high',
      cwe: 'CWE-613',
    });
    expect(finding(withKey.report, 'auth.missing-exp')).toMatchObject({ result: 'fail', severity: 'medium' });
    expect(finding(withKey.report, 'auth.tampered-token')).toMatchObject({ result: 'pass' });
    expect(finding(withKey.report, 'auth.kid-injection')).toMatchObject({ result: 'pass' });
    const without = await audit(srv.url, [`--token=${token}`, '--only=auth.expired-token']);
    expect(finding(without.report, 'auth.expired-token')).toMatchObject({
      result: 'skip',
      detail: expect.stringMatching(/--secret .*--private-key/),
    });
    // A wrong key: the control token is refused, so nothing is concluded.
    const wrong = await audit(srv.url, [
      `--token=${token}`,
      '--secret=not-the-key',
      '--only=auth.expired-token',
    ]);
    expect(finding(wrong.report, 'auth.expired-token')).toMatchObject({
      result: 'skip',
      detail: expect.stringMatching(/refused a valid token signed with --secret/),
    });
  });

  it('*.localhost is loopback only when it resolves to loopback (was: trusted by name)', async () => {
    expect(await resolvesToLoopback('app.localhost', async () => ['127.0.0.1', '::1'])).toBe(true);
    expect(await resolvesToLoopback('app.localhost', async () => ['127.0.0.1', '10.0.0.5'])).toBe(false);
    expect(
      await resolvesToLoopback('app.localhost', async () => Promise.reject(new Error('ENOTFOUND'))),
    ).toBe(false);
    expect(await resolvesToLoopback('127.0.0.1')).toBe(true);
    expect(await resolvesToLoopback('[::1]')).toBe(true);
    expect(await resolvesToLoopback('10.0.0.1')).toBe(false);
    const err: string[] = [];
    const code = await main(['--full', '--url=ws://wsguard-audit-unresolvable.localhost:1/ws'], {
      out: () => {},
      err: (l) => err.push(l),
    });
    expect(code).toBe(2);
    expect(err.join('\n')).toMatch(/refusing --full against wsguard-audit-unresolvable\.localhost/);
  });

  it('the Markdown report escapes server text: no link, image, HTML or heading from the server renders', async () => {
    srv = await startMarkdownInjection();
    const run = await audit(srv.url, ['--only=input,errors']);
    // Inside a ~~~ fence text is inert; everywhere else it must be escaped.
    const prose = run.markdown.replace(/^~~~\n[\s\S]*?^~~~$/gm, '');
    expect(run.markdown).toMatch(/^< reply .*<img src=x/m);
    expect(prose).toContain('onerror');
    expect(prose).not.toMatch(/(?<!\\)<img/);
    expect(prose).not.toMatch(/(?<!\\)\]\(https:\/\/evil/);
    expect(prose).not.toMatch(/^# Fake heading/m);
    const observed = run.markdown
      .split('\n')
      .flatMap((l) =>
        l.startsWith('- Observed:') ? [l] : l.startsWith('| `') ? [l.split(' | ').slice(3).join(' | ')] : [],
      );
    expect(observed.some((l) => l.includes('onerror'))).toBe(true);
    for (const l of observed) expect(l).not.toMatch(/(?<!\\)[<[`]/);
  });

  it('monitoring.metrics-public: a 200 that is not Prometheus text is no metrics endpoint (was: fail on any 200)', async () => {
    srv = await startCatchAll();
    const spa = await audit(srv.url, ['--only=monitoring.metrics-public']);
    expect(finding(spa.report, 'monitoring.metrics-public')).toMatchObject({
      result: 'skip',
      detail: expect.stringMatching(/not Prometheus exposition/),
    });
    await srv.close();
    srv = await startOpenMetrics();
    const open = await audit(srv.url, ['--only=monitoring.metrics-public']);
    expect(finding(open.report, 'monitoring.metrics-public')).toMatchObject({
      result: 'fail',
      severity: 'medium',
    });
    expect(looksLikePrometheus('{"error":"not found"}')).toBe(false);
    expect(looksLikePrometheus('# HELP a A.\n# TYPE a counter\na_total 3\nb{x="1"} 2.5e3 1700000000\n')).toBe(
      true,
    );
  });

  it('a target that dies mid-audit: one high availability finding naming the last check, the rest not run (was: a string of errors)', async () => {
    srv = await startCrashOnArray();
    const run = await audit(srv.url, ['--only=input,errors,session']);
    expect(finding(run.report, 'availability.target-down')).toMatchObject({
      result: 'fail',
      severity: 'high',
      detail: expect.stringMatching(
        /^the target stopped answering during input\.deep-nesting \(the last check run\)/,
      ),
    });
    expect(run.report.findings.filter((f) => f.result === 'error')).toEqual([]);
    expect(finding(run.report, 'errors.stack-trace')).toMatchObject({
      result: 'skip',
      detail: 'not run: the target stopped answering after input.deep-nesting',
    });
  });
});
