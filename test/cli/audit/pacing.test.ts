import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { messagePace, nextUpgradeWait, upgradePace } from '../../../src/cli/audit/pacing.js';
import { hs256 } from '../../../src/cli/audit/signer.js';
import { startServer, TEST_SECRET, type TestServer } from '../../helpers/server.js';
import { audit } from './run-audit.js';

describe('the pace taken from announced limits', () => {
  it('upgrades: a tenth (at least two) under the announced max, a second over its window', () => {
    expect(upgradePace({ max: 30, windowMs: 60_000 })).toEqual({ max: 27, windowMs: 61_000 });
    expect(upgradePace({ max: 200, windowMs: 60_000 })).toEqual({ max: 180, windowMs: 61_000 });
    expect(upgradePace({ max: 10, windowMs: 5000 })).toEqual({ max: 8, windowMs: 6000 });
    expect(upgradePace({ max: 2, windowMs: 1000 })).toEqual({ max: 1, windowMs: 2000 });
    expect(upgradePace({ max: 1, windowMs: 1000 })).toEqual({ max: 1, windowMs: 2000 });
  });

  it('an announcement is not trusted beyond a minute of window or 10 upgrades a second', () => {
    // 60 per 10 min is kept as 6 a minute (less a margin), never a wait of ten minutes.
    expect(upgradePace({ max: 60, windowMs: 600_000 })).toEqual({ max: 4, windowMs: 61_000 });
    expect(upgradePace({ max: 1, windowMs: 3_600_000 })).toEqual({ max: 1, windowMs: 61_000 });
    // A million a millisecond is 10 a second.
    expect(upgradePace({ max: 1e6, windowMs: 1 })).toEqual({ max: 8, windowMs: 2000 });
    expect(upgradePace({ max: 1e9, windowMs: 60_000 })).toEqual({ max: 540, windowMs: 61_000 });
  });

  it('messages: 80 % of the tightest of the socket, user and type buckets; none announced, no pace', () => {
    const limits = {
      maxPayload: 65536,
      messagesPerSecond: 50,
      burst: 100,
      user: { rate: 100, burst: 200 },
      types: { chat: { rate: 5, burst: 10 }, dm: { rate: 10, burst: 20, cost: 4 } },
    };
    expect(messagePace(limits, 'echo')).toEqual({ rate: 40, burst: 80 });
    expect(messagePace(limits, 'chat')).toEqual({ rate: 4, burst: 8 });
    expect(messagePace(limits, 'dm')).toEqual({ rate: 2, burst: 4 });
    expect(messagePace({ maxPayload: 65536 }, 'echo')).toBeUndefined();
    // Not trusted: a hostile announcement is read like any other (insane fields dropped).
    expect(messagePace({ maxPayload: 1, messagesPerSecond: -1, burst: 5 }, 'echo')).toBeUndefined();
    expect(messagePace('limits', 'echo')).toBeUndefined();
    // One message an hour announced: the audit still sends one a second (its checks send a few).
    expect(messagePace({ maxPayload: 1, messagesPerSecond: 1 / 3600, burst: 1 }, 'echo')).toEqual({
      rate: 1,
      burst: 1,
    });
  });

  it('waits until the oldest upgrade that must go has left the window', () => {
    const pace = { max: 3, windowMs: 1000 };
    expect(nextUpgradeWait([], pace, 0)).toBe(0);
    expect(nextUpgradeWait([0, 100], pace, 200)).toBe(0);
    expect(nextUpgradeWait([0, 100, 200], pace, 300)).toBe(700);
    const times = [0, 100, 200, 900];
    // 0 has left the window at 1000; 100, 200, 900 remain: full until 1100.
    expect(nextUpgradeWait(times, pace, 1000)).toBe(100);
    expect(times).toEqual([100, 200, 900]);
    // A pace lowered below what the window holds waits for enough of them to leave.
    expect(nextUpgradeWait([100, 200, 900], { max: 1, windowMs: 1000 }, 1000)).toBe(900);
  });
});

describe('an audit paced by what a wsguard server announces', () => {
  let srv: TestServer | undefined;
  afterEach(async () => {
    await srv?.close();
    srv = undefined;
  });

  const guarded = (windowMs: number) =>
    startServer({
      messages: { echo: z.unknown() },
      handlers: { echo: (_c, p) => p },
      authTimeoutMs: 1000,
      limits: { connectionsPerIp: { max: 30, windowMs } },
    });
  const now = Math.floor(Date.now() / 1000);
  const token = hs256({ sub: 'audit-user', iat: now, exp: now + 3600 }, TEST_SECRET);

  it('unpaced, the same audit makes more than 30 upgrades within a minute: refused (the control)', async () => {
    // A minute's window: however slow the machine, the unpaced run ends inside it.
    srv = await guarded(60_000);
    const run = await audit(srv.url, [`--token=${token}`, `--secret=${TEST_SECRET}`, '--auth-wait=2']);
    expect(run.report.politeness.lockout).toMatchObject({ detail: expect.stringMatching(/HTTP 429/) });
  }, 60_000);

  it('30 upgrades per 5 s announced: the audit keeps 27 per 6 s, no 429 and no lockout, and says what is left', async () => {
    srv = await guarded(5000);
    // auto (the default) after the fixtures' unpaced default of run-audit.ts.
    const run = await audit(srv.url, [
      `--token=${token}`,
      `--secret=${TEST_SECRET}`,
      '--upgrades-per-minute=auto',
      '--auth-wait=2',
      '--verbose',
    ]);
    expect(run.report.politeness).toMatchObject({
      lockout: null,
      announced: { max: 30, windowMs: 5000 },
      pace: { max: 27, windowMs: 6000 },
    });
    // More upgrades than one window holds: the pace, not luck, kept the server from refusing.
    expect(run.report.politeness.upgrades).toBeGreaterThan(30);
    expect(run.out).toContain('pacing: the server announces 30 upgrades per 5 s: at most 27 per 6 s');
    for (const f of run.report.findings)
      expect(f.detail, f.id).not.toMatch(/HTTP 429|throttled|locked the auditor out/);
    expect(run.report.findings.filter((f) => f.result === 'error')).toEqual([]);
    expect(run.out).toMatch(
      /No sign that the server limited your address \(\d+ upgrades, at most 27 per 6 s under its announced 30 per 5 s; \d+ upgrades? (is|are) left to other clients on this address for up to 5 s\)\./,
    );
  }, 90_000);
});
