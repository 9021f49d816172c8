// The token, session-lifetime and compression weaknesses: each weak fixture gets its finding with
// the right id and severity, and wsguard itself (the same check) passes.
import { afterEach, describe, expect, it } from 'vitest';
import { SHORT_LIFETIME_S } from '../../../src/cli/audit/checks/expiry.js';
import { tokenNeedles } from '../../../src/cli/audit/checks/token-echo.js';
import { hs256 } from '../../../src/cli/audit/signer.js';
import type { FixtureServer } from '../../fixtures/raw.js';
import {
  startDeflateAmplifier,
  startDeflateUnbounded,
  startGuardedDeflate,
  startNeverExpires,
  startQueryTokenEcho,
  TEST_SECRET,
} from '../../fixtures/weak-sessions.js';
import { audit, finding } from './run-audit.js';

const now = () => Math.floor(Date.now() / 1000);
const signed = (secret: string) => hs256({ sub: 'audit-user', iat: now(), exp: now() + 3600 }, secret);

describe('audit against weak token, session and compression handling', () => {
  let srv: FixtureServer | undefined;
  afterEach(async () => {
    await srv?.close();
    srv = undefined;
  });

  it('a token taken from the query string and quoted back: acceptance (medium, CWE-598) and echo (medium, CWE-200)', async () => {
    srv = await startQueryTokenEcho();
    const run = await audit(srv.url, ['--only=auth.query-token,auth.query-token-echo']);
    expect(finding(run.report, 'auth.query-token')).toMatchObject({
      result: 'fail',
      severity: 'medium',
      cwe: 'CWE-598',
      detail: 'authenticated by the token in the URL: auth_ok',
    });
    const echo = finding(run.report, 'auth.query-token-echo');
    expect(echo).toMatchObject({ result: 'fail', severity: 'medium', cwe: 'CWE-200' });
    expect(echo.detail).toMatch(/^the token sent in the URL came back in a header of the 101, a frame/);
    // The report shows where, never the token itself.
    expect(echo.evidence.received).toContain('x-request-url: /ws?token=<--token>');
    expect(JSON.stringify(run.report)).not.toMatch(/token=test_token/);
    expect(run.markdown).not.toMatch(/token=test_token/);
  });

  it('wsguard ignores ?token= and quotes nothing: both checks pass', async () => {
    srv = await startGuardedDeflate();
    const run = await audit(srv.url, [
      `--token=${signed(TEST_SECRET)}`,
      '--only=auth.query-token,auth.query-token-echo',
    ]);
    expect(finding(run.report, 'auth.query-token')).toMatchObject({ result: 'pass' });
    expect(finding(run.report, 'auth.query-token-echo')).toMatchObject({
      result: 'pass',
      detail: expect.stringMatching(
        /^the token is in none of the \d+ headers, frames and close reasons seen$/,
      ),
    });
  });

  it('the token forms looked for: whole, URL-encoded, a JWT signature; nothing shorter than 8 characters', () => {
    expect(tokenNeedles('a.b.0123456789abcdefXYZ')).toEqual([
      'a.b.0123456789abcdefXYZ',
      '0123456789abcdefXYZ',
    ]);
    expect(tokenNeedles('abc def+/')).toEqual(['abc def+/', 'abc%20def%2B%2F']);
    expect(tokenNeedles('short')).toEqual([]);
  });

  it('a session that never expires: no exp accepted (medium), the socket outlives its token (medium), no expiry announced (low)', async () => {
    const secret = 'never-expires-secret-never-expires-0123';
    srv = await startNeverExpires(secret);
    const token = signed(secret);
    const run = await audit(srv.url, [
      `--token=${token}`,
      `--secret=${secret}`,
      // csrf.missing opens the first authenticated socket, whose auth_ok the session checks read.
      '--only=auth.expired-token,auth.missing-exp,csrf.missing,session',
    ]);
    expect(finding(run.report, 'session.outlives-token')).toMatchObject({
      result: 'fail',
      severity: 'medium',
      cwe: 'CWE-613',
      detail: expect.stringMatching(
        /^a message was handled [\d.]+ s after exp on a socket whose token had expired \(no close, no refusal\)$/,
      ),
    });
    expect(finding(run.report, 'auth.missing-exp')).toMatchObject({ result: 'fail', severity: 'medium' });
    expect(finding(run.report, 'session.expiry')).toMatchObject({
      result: 'fail',
      severity: 'low',
      detail: 'auth_ok carries no expiresAt',
    });
    // It does check exp at authentication: an expired token is refused.
    expect(finding(run.report, 'auth.expired-token')).toMatchObject({ result: 'pass' });
    // Without the key there is no short-lived token to mint: skipped, naming the flags.
    const without = await audit(srv.url, [`--token=${token}`, '--only=session.outlives-token']);
    expect(finding(without.report, 'session.outlives-token')).toMatchObject({
      result: 'skip',
      detail: expect.stringMatching(/--secret .*--private-key/),
    });
  }, 30_000);

  it(`wsguard ends the session at the token's exp (${SHORT_LIFETIME_S} s): close 4401, the check passes`, async () => {
    srv = await startGuardedDeflate();
    const run = await audit(srv.url, [
      `--token=${signed(TEST_SECRET)}`,
      `--secret=${TEST_SECRET}`,
      '--only=session.outlives-token,auth.missing-exp',
    ]);
    expect(finding(run.report, 'session.outlives-token')).toMatchObject({
      result: 'pass',
      detail: expect.stringMatching(/^closed 4401 WSG_SESSION_EXPIRED by -?[\d.]+ s after exp$/),
    });
    expect(finding(run.report, 'auth.missing-exp')).toMatchObject({ result: 'pass' });
  }, 30_000);

  it('permessage-deflate without a size bound: a 1 KB frame inflating to 1 MiB is read (medium, CWE-409)', async () => {
    srv = await startDeflateUnbounded();
    const run = await audit(srv.url, ['--only=transport']);
    const f = finding(run.report, 'transport.deflate-unbounded');
    expect(f).toMatchObject({ result: 'fail', severity: 'medium', cwe: 'CWE-409' });
    expect(f.detail).toMatch(
      /^a \d+-byte compressed frame inflating to 1048576 bytes was inflated and read in full \(\d+× amplification\): reply \{"type":"ack"/,
    );
    // The probe stays small on the wire.
    expect(Number(/^a (\d+)-byte/.exec(f.detail)?.[1])).toBeLessThan(8 * 1024);
    expect(finding(run.report, 'transport.permessage-deflate')).toMatchObject({
      result: 'warn',
      severity: 'low',
    });
  });

  it('a compressed answer that inflates past 1 MiB: the audit closes its socket unread (bounded), and still reports the weakness', async () => {
    srv = await startDeflateAmplifier();
    const run = await audit(srv.url, ['--only=transport']);
    expect(finding(run.report, 'transport.deflate-unbounded')).toMatchObject({
      result: 'fail',
      severity: 'medium',
      detail: expect.stringMatching(
        /read in full: the answer inflated past the audit's 1 MiB bound \(closed unread\)$/,
      ),
    });
    expect(finding(run.report, 'transport.oversized-answers')).toMatchObject({
      result: 'fail',
      detail: 'oversized answers during transport.deflate-unbounded',
    });
  });

  it('wsguard with compression on keeps its 64 KiB bound on the inflated message: close 1009, the check passes', async () => {
    srv = await startGuardedDeflate();
    const run = await audit(srv.url, [`--token=${signed(TEST_SECRET)}`, '--only=transport']);
    expect(finding(run.report, 'transport.deflate-unbounded')).toMatchObject({
      result: 'pass',
      detail: expect.stringMatching(/inflating to 1048576 bytes refused: closed 1009/),
    });
  });
});
