import { afterEach, describe, expect, it } from 'vitest';
import { CHAT_PAYLOAD, sendRightAfter, startChatApp } from '../../fixtures/chat-app.js';
import { audit } from './run-audit.js';

describe('audit against an app with only its own schema (no echo)', () => {
  let app: Awaited<ReturnType<typeof startChatApp>> | undefined;
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  it('given --type/--payload/--secret: nothing above low, no check broken; a client from the same address connects and sends at once', async () => {
    app = await startChatApp();
    const run = await audit(app.url, [
      `--token=${await app.token()}`,
      `--other-token=${await app.token('other-user')}`,
      `--secret=${app.secret}`,
      '--type=chat',
      `--payload=${CHAT_PAYLOAD}`,
      // The default pacing, as a user gets it (the test helper lifts it for speed).
      '--upgrades-per-minute=auto',
    ]);
    expect(run.report.politeness).toMatchObject({ lockout: null, escalated: false });
    // The app announces wsguard's default upgrade limit: the audit keeps just under it.
    expect(run.out).toMatch(
      /No sign that the server limited your address \(\d+ upgrades, at most 27 per 61 s under its announced 30 per 60 s; \d+ upgrades? (is|are) left to other clients on this address for up to 60 s\)\./,
    );
    const serious = run.report.findings.filter(
      (f) => (f.result === 'fail' || f.result === 'warn') && !['info', 'low'].includes(f.severity),
    );
    expect(serious.map((f) => `${f.id}: ${f.detail}`)).toEqual([]);
    expect(
      run.report.findings.filter((f) => f.result === 'error').map((f) => `${f.id}: ${f.detail}`),
    ).toEqual([]);
    expect(await sendRightAfter(app)).toEqual({ delivered: 11 });
  }, 180_000);
});
