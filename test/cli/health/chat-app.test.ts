import { afterEach, describe, expect, it } from 'vitest';
import { main } from '../../../src/cli/health/index.js';
import { CHAT_PAYLOAD, sendRightAfter, startChatApp } from '../../fixtures/chat-app.js';

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { out: (l: string) => out.push(l), err: (l: string) => err.push(l) } };
}

describe('health against an app with only its own schema (no echo)', () => {
  let app: Awaited<ReturnType<typeof startChatApp>> | undefined;
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  it('passes 8/8 given --type/--payload, and a client from the same address connects and sends at once', async () => {
    app = await startChatApp();
    const token = await app.token();
    const { out, err, io } = capture();
    const code = await main(
      [`--url=${app.url}`, `--token=${token}`, '--type=chat', `--payload=${CHAT_PAYLOAD}`, '--samples=3'],
      io,
    );
    expect(out.join('\n'), err.join('\n')).toContain('All checks passed');
    expect(out.filter((l) => l.startsWith('✔'))).toHaveLength(8);
    expect(code).toBe(0);
    expect(await sendRightAfter(app)).toEqual({ delivered: 11 });
  });

  it('without --payload the probes are refused by the schema: the failures name --type/--payload', async () => {
    app = await startChatApp();
    const { out, io } = capture();
    const code = await main(
      [`--url=${app.url}`, `--token=${await app.token()}`, '--type=chat', '--samples=1'],
      io,
    );
    expect(code).toBe(1);
    expect(out.join('\n')).toMatch(
      /✖ .*WSG_VALIDATION_FAILED; pass --type and --payload with a message the app accepts/,
    );
  });

  it('--probe reads type and payload from a file; a bad file is a usage error', async () => {
    const { err, io } = capture();
    expect(await main(['--probe=/nonexistent/probe.json'], io)).toBe(2);
    expect(err.join('\n')).toMatch(/^--probe: cannot read \/nonexistent\/probe\.json/);
    const bad = capture();
    expect(await main(['--payload={not json'], bad.io)).toBe(2);
    expect(bad.err.join('\n')).toMatch(/^--payload is not JSON/);
  });
});
