import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { SecureWebSocket, type WebSocketConstructor } from '../../src/client/index.js';
import { type Child, freePort, startChild } from '../helpers/process.js';
import { repoRoot } from '../helpers/project.js';
import { recipes, waitHealthy } from '../helpers/recipes.js';
import { signToken, TEST_SECRET } from '../helpers/server.js';

// The Next.js custom-server recipe in docs/integrations.md, run exactly as printed: the one-page
// app in test/fixtures/next-app is built once with `next build` (kept in test-output/ while the
// fixture and Next's version are unchanged), the recipe is written next to it and started in
// production, as it would be deployed. Neither the build nor the server may look up any host:
// test/fixtures/no-network.mjs is preloaded into both and prints any lookup it refuses.

const fixture = join(repoRoot, 'test/fixtures/next-app');
const appDir = join(repoRoot, 'test-output/next-app');
const noNetwork = `--import ${join(repoRoot, 'test/fixtures/no-network.mjs')}`;
const offlineEnv = { NEXT_TELEMETRY_DISABLED: '1', NODE_OPTIONS: noNetwork };
const recipe = recipes(readFileSync(join(repoRoot, 'docs/integrations.md'), 'utf8')).get('next');

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name))
    .sort();
}

/** Changes when the fixture or Next does, so a stale build is never reused. */
function buildKey(): string {
  const hash = createHash('sha256');
  const nextPkg = createRequire(join(repoRoot, 'package.json')).resolve('next/package.json');
  hash.update(JSON.parse(readFileSync(nextPkg, 'utf8')).version);
  for (const f of files(fixture)) hash.update(relative(fixture, f)).update(readFileSync(f));
  return hash.digest('hex');
}

let child: Child | undefined;
let port = 0;
let buildOutput = '';
const base = () => `http://127.0.0.1:${port}`;
const url = () => `ws://127.0.0.1:${port}/ws`;

/** `ws` sending what the TLS proxy in front (docs/deploy.md) adds to every request. */
class BehindProxy extends WebSocket {
  constructor(address: string, protocols?: string | string[]) {
    super(address, protocols, {
      headers: { 'X-Forwarded-Proto': 'https', 'X-Forwarded-For': '203.0.113.7' },
    });
  }
}

beforeAll(async () => {
  const key = buildKey();
  const keyFile = join(appDir, '.build-key');
  const logFile = join(appDir, '.build-log');
  if (existsSync(keyFile) && readFileSync(keyFile, 'utf8') === key) {
    buildOutput = readFileSync(logFile, 'utf8');
  } else {
    rmSync(appDir, { recursive: true, force: true });
    cpSync(fixture, appDir, { recursive: true });
    const build = spawnSync(process.execPath, [join(repoRoot, 'node_modules/next/dist/bin/next'), 'build'], {
      cwd: appDir,
      env: { ...process.env, ...offlineEnv, NODE_ENV: 'production' },
      encoding: 'utf8',
      timeout: 150_000,
    });
    buildOutput = `${build.stdout}${build.stderr}`;
    if (build.status !== 0) throw new Error(`next build failed:\n${buildOutput}${build.error ?? ''}`);
    writeFileSync(logFile, buildOutput);
    writeFileSync(keyFile, key);
  }
  writeFileSync(join(appDir, 'server.ts'), recipe ?? '');
  port = await freePort();
  child = startChild(process.execPath, ['--import', 'tsx', 'server.ts'], {
    cwd: appDir,
    env: {
      ...offlineEnv,
      PORT: String(port),
      WSGUARD_JWT_SECRET: TEST_SECRET,
      NODE_ENV: 'production',
      ALLOWED_HOSTS: '127.0.0.1',
      TRUST_PROXY: '127.0.0.1',
    },
  });
}, 180_000);

afterAll(async () => {
  await child?.stop();
});

describe('Next.js custom server recipe (production build)', () => {
  it('starts as written: /healthz, the page, an API route and a 404 from Next', async () => {
    expect(recipe).toBeDefined();
    const c = child as Child;
    expect(await waitHealthy(base(), c)).toMatchObject({ status: 'ok' });
    const page = await fetch(`${base()}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('hello from next');
    const hello = await fetch(`${base()}/api/hello`);
    expect(hello.status).toBe(200);
    expect(await hello.json()).toEqual({ hello: 'world' });
    expect((await fetch(`${base()}/nope`)).status).toBe(404);
  });

  it('carries an authenticated message through the trusted proxy, and the page still answers', async () => {
    const socket = new SecureWebSocket({
      url: url(),
      authToken: await signToken('next-user'),
      WebSocket: BehindProxy as unknown as WebSocketConstructor,
    });
    await expect(socket.send({ type: 'echo', payload: { from: 'next' } })).resolves.toEqual({ from: 'next' });
    expect((await fetch(`${base()}/`)).status).toBe(200);
    expect(socket.state).toBe('open');
    socket.close();
  });

  it('applies production rules inside Next: plain ws:// straight to the process is 426, a foreign Host 403', async () => {
    const token = await signToken('direct');
    const status = (options: WebSocket.ClientOptions) =>
      new Promise<number>((resolve, reject) => {
        const ws = new WebSocket(url(), ['wsguard.v1', `wsguard.bearer.${token}`], options);
        ws.once('unexpected-response', (_req, res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        ws.once('open', () => reject(new Error('upgrade accepted')));
        ws.once('error', () => {});
      });
    expect(await status({})).toBe(426);
    expect(await status({ headers: { Host: 'evil.example', 'X-Forwarded-Proto': 'https' } })).toBe(403);
    expect((await fetch(`${base()}/api/hello`)).status).toBe(200);
  });

  it('looks up no host, neither while building nor while serving', () => {
    // The guard itself works: a lookup under it is refused and printed.
    const control = spawnSync(
      process.execPath,
      ['-e', "fetch('https://registry.npmjs.org/').catch(() => {})"],
      {
        env: { ...process.env, ...offlineEnv },
        encoding: 'utf8',
        timeout: 30_000,
      },
    );
    expect(control.stderr).toContain('no-network: refused lookup of registry.npmjs.org');
    expect(buildOutput).toContain('Compiled successfully');
    expect(buildOutput).not.toContain('no-network:');
    expect((child as Child).output()).not.toContain('no-network:');
    expect((child as Child).output()).not.toMatch(/telemetry/i);
  });
});
