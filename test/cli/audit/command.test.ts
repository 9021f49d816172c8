import { describe, expect, it } from 'vitest';
import { formatUsage } from '../../../src/cli/args.js';
import { auditCommand, main } from '../../../src/cli/audit/index.js';
import { isLoopback } from '../../../src/cli/audit/net.js';
import { freePort, startChild } from '../../helpers/process.js';
import { repoRoot } from '../../helpers/project.js';

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { out: (l: string) => out.push(l), err: (l: string) => err.push(l) } };
}

async function runScript(args: string[]) {
  const child = startChild(process.execPath, ['scripts/websocket-security-audit.js', ...args], {
    cwd: repoRoot,
  });
  const code = await new Promise<number | null>((r) => child.proc.once('exit', r));
  return { code, output: child.output() };
}

describe('command line', () => {
  it('--help prints usage with every flag and an example, exit 0', async () => {
    const { out, io } = capture();
    expect(await main(['--help'], io)).toBe(0);
    const text = out.join('\n');
    expect(text).toMatchSnapshot();
    for (const flag of [
      '--url',
      '--token',
      '--verbose',
      '--full',
      '--help',
      '--out',
      '--fail-on',
      '--origin',
      '--i-own-this-host',
    ])
      expect(text).toContain(flag);
  });

  it('an unknown flag prints usage and exits 2', async () => {
    const { err, io } = capture();
    expect(await main(['--bogus'], io)).toBe(2);
    expect(err.join('\n')).toContain(formatUsage(auditCommand));
  });

  it.each([
    [['--fail-on=urgent'], '--fail-on must be one of info, low, medium, high, critical'],
    [['--burst=0'], '--burst must be a whole number from 1 to 5000'],
    [['--url=http://127.0.0.1/ws'], '--url must start with ws:// or wss://'],
    [['--origin=not an origin'], '--origin is not an origin: not an origin'],
    [['--only=origin,nonsense'], '--only names no check or category: nonsense'],
    [['--protocol=mqtt'], '--protocol must be one of auto, wsguard, raw, socket.io, graphql-ws'],
  ])('%s: says why, prints usage, exits 2', async (args, why) => {
    const { err, io } = capture();
    expect(await main(args, io)).toBe(2);
    expect(err.join('\n')).toBe(`${why}\n\n${formatUsage(auditCommand)}`);
  });

  it('--full refuses a host that is not loopback unless --i-own-this-host, before sending anything', async () => {
    const { err, out, io } = capture();
    expect(await main(['--full', '--url=wss://example.com/ws'], io)).toBe(2);
    expect(err).toEqual([
      'wsguard audit: refusing --full against example.com, which does not resolve to loopback addresses only; pass --i-own-this-host if you own it',
    ]);
    expect(out).toEqual([]);
    for (const host of ['localhost', '127.0.0.1', '127.8.9.10', '[::1]'])
      expect(isLoopback(host), host).toBe(true);
    // *.localhost is loopback only once resolved (resolvesToLoopback, test/cli/audit/verdicts.test.ts).
    for (const host of ['example.com', '10.0.0.1', '128.0.0.1', 'localhost.example.com', 'app.localhost'])
      expect(isLoopback(host), host).toBe(false);
  });

  it('nothing listening: one readable line and exit 2', async () => {
    const { code, output } = await runScript([`--url=ws://127.0.0.1:${await freePort()}/ws`]);
    expect(code).toBe(2);
    expect(output.trim().split('\n')).toEqual([
      expect.stringMatching(
        /^wsguard audit: cannot reach ws:\/\/127\.0\.0\.1:\d+\/ws \(connection refused\)$/,
      ),
    ]);
  });

  it('is reachable as `wsguard audit` through the bin', async () => {
    const child = startChild(process.execPath, ['dist/src/cli/bin.js', 'audit', '--help'], { cwd: repoRoot });
    expect(await new Promise((r) => child.proc.once('exit', r))).toBe(0);
    expect(child.output()).toContain(formatUsage(auditCommand).split('\n')[0]);
    const top = startChild(process.execPath, ['dist/src/cli/bin.js', '--help'], { cwd: repoRoot });
    await new Promise((r) => top.proc.once('exit', r));
    expect(top.output()).toMatch(/audit {4}audit a WebSocket endpoint/);
    const version = startChild(process.execPath, ['dist/src/cli/bin.js', '--version'], { cwd: repoRoot });
    expect(await new Promise((r) => version.proc.once('exit', r))).toBe(0);
    expect(version.output().trim()).toMatch(/^\d+\.\d+\.\d+/);
    expect(formatUsage(auditCommand).split('\n')[0]).toBe('Usage: wsguard audit [options]');
  });
});
