import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { z } from 'zod';
import { formatUsage } from '../../../src/cli/args.js';
import { healthCommand, main } from '../../../src/cli/health/index.js';
import { SecureWebSocket } from '../../../src/client/index.js';
import { type Child, freePort, startChild, startDemo } from '../../helpers/process.js';
import { repoRoot } from '../../helpers/project.js';
import { startServer, type TestServer } from '../../helpers/server.js';

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { out: (l: string) => out.push(l), err: (l: string) => err.push(l) } };
}

/** Runs the seed's command line as a child process, as a user would. */
async function runScript(args: string[]) {
  const child = startChild(process.execPath, ['scripts/test-websocket-health.js', ...args], {
    cwd: repoRoot,
  });
  const code = await new Promise<number | null>((r) => child.proc.once('exit', r));
  return { code, output: child.output() };
}

describe('a health run leaves its address in good standing (fresh demo)', () => {
  let demo: Child;
  let port: number;
  beforeAll(async () => {
    port = await freePort();
    demo = startDemo(port);
    await demo.waitFor(/listening/);
  });
  afterAll(() => demo.stop());

  it('after a health run, a SecureWebSocket from the same address connects and sends at once', async () => {
    const { code, output } = await runScript([`--url=ws://127.0.0.1:${port}/ws`]);
    expect(code).toBe(0);
    const socket = new SecureWebSocket({
      WebSocket,
      url: `ws://127.0.0.1:${port}/ws`,
      authToken: 'test_token',
      reconnect: false,
    });
    const closes: number[] = [];
    socket.addEventListener('close', (e) => closes.push(e.code));
    try {
      // Not refused at the upgrade (no block, no ban), not held back: the first send is acked.
      expect(await socket.send({ type: 'echo', payload: 'right after health' })).toBe('right after health');
      expect(closes).toEqual([]);
      // The check shows the limit with one refused message (the rate-limit check), which counts
      // neither as anomaly nor as strike: nothing flagged, nothing blocked.
      const log = demo.output().split('\n');
      expect(log.filter((l) => /penalty\.blocked|anomaly\.flagged/.test(l))).toEqual([]);
      expect(log.filter((l) => l.includes('"rate.limited"')).length).toBeLessThanOrEqual(1);
      expect(output).not.toContain('WSG_BLOCKED');
    } finally {
      socket.close();
    }
  });
});

describe('health check against the demo server (npm start)', () => {
  let demo: Child;
  let port: number;
  beforeAll(async () => {
    port = await freePort();
    demo = startDemo(port);
    await demo.waitFor(/listening/);
  });
  afterAll(() => demo.stop());

  it('passes every check with the default token, exit 0', async () => {
    const { code, output } = await runScript([`--url=ws://127.0.0.1:${port}/ws`]);
    expect(output).toContain('All checks passed');
    for (const name of [
      'Connection establishment',
      'Authentication',
      'Ping/pong latency',
      'Automatic reconnection',
      'CSRF token',
      'message size limit',
      'rate limiting',
      'unknown message type',
    ]) {
      expect(output).toMatch(new RegExp(`✔ [^\\n]*${name.replace(/[/()]/g, '.')}`));
    }
    expect(code).toBe(0);
  });

  it('--json prints a machine-readable result', async () => {
    const { out, io } = capture();
    const code = await main([`--url=ws://127.0.0.1:${port}/ws`, '--json', '--samples=3'], io);
    expect(code).toBe(0);
    const result = JSON.parse(out.join('\n'));
    expect(result).toMatchObject({ url: `ws://127.0.0.1:${port}/ws`, ok: true });
    expect(result.checks.map((c: { id: string }) => c.id)).toEqual([
      'connection',
      'authentication',
      'latency',
      'unknown-type',
      'reconnection',
      'csrf',
      'size',
      'rate-limit',
    ]);
    expect(result.checks.find((c: { id: string }) => c.id === 'latency').data).toEqual({
      min: expect.any(Number),
      p50: expect.any(Number),
      p95: expect.any(Number),
      max: expect.any(Number),
    });
  });

  it('a wrong token fails authentication, exit 1', async () => {
    const { out, io } = capture();
    expect(await main([`--url=ws://127.0.0.1:${port}/ws`, '--token=wrong', '--samples=1'], io)).toBe(1);
    expect(out.join('\n')).toMatch(/✖ Authentication/);
  });
});

describe('health check against weaker servers', () => {
  let srv: TestServer | undefined;
  afterEach(async () => {
    await srv?.close();
    srv = undefined;
  });

  it('reports the CSRF check failed when the server has CSRF off, exit 1', async () => {
    srv = await startServer({
      auth: { verify: (t) => (t === 'test_token' ? { id: 'dev' } : null) },
      messages: { echo: z.unknown() },
      handlers: { echo: (_c, p) => p },
      csrf: false,
    });
    const { out, io } = capture();
    expect(await main([`--url=${srv.url}`, '--samples=2'], io)).toBe(1);
    const text = out.join('\n');
    expect(text).toMatch(/✖ Security: CSRF token/);
    expect(text).toMatch(/✔ Security: rate limiting/);
    expect(text).toContain('1 of 8 checks failed');
  });

  it('nothing listening: one readable line and exit 2', async () => {
    const { code, output } = await runScript([`--url=ws://127.0.0.1:${await freePort()}/ws`]);
    expect(code).toBe(2);
    expect(output.trim().split('\n')).toEqual([
      expect.stringMatching(
        /^wsguard health: cannot reach ws:\/\/127\.0\.0\.1:\d+\/ws \(connection refused\)$/,
      ),
    ]);
  });
});

describe('command line', () => {
  it('--help prints usage with every flag and an example, exit 0', async () => {
    const { out, io } = capture();
    expect(await main(['--help'], io)).toBe(0);
    expect(out.join('\n')).toMatchSnapshot();
    for (const flag of ['--url', '--token', '--verbose', '--help', '--json'])
      expect(out.join('\n')).toContain(flag);
  });

  it('an unknown flag prints usage and exits 2', async () => {
    const { err, io } = capture();
    expect(await main(['--bogus'], io)).toBe(2);
    expect(err.join('\n')).toContain(formatUsage(healthCommand));
  });

  it('is reachable as `wsguard health` through the bin', async () => {
    const child = startChild(process.execPath, ['dist/src/cli/bin.js', 'health', '--help'], {
      cwd: repoRoot,
    });
    expect(await new Promise((r) => child.proc.once('exit', r))).toBe(0);
    expect(child.output()).toContain(formatUsage(healthCommand).split('\n')[0]);
  });
});
