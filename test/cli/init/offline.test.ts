import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type Child, freePort, startChild } from '../../helpers/process.js';
import { repoRoot } from '../../helpers/project.js';
import { installProject, packTarball } from '../../helpers/tarball.js';

// `wsguard init` from the installed package, with npm forced offline: the project gets
// wsguard (this very copy when npm's cache has no registry version) and the template's
// dependencies from the cache, and the generated app passes `wsguard health`.

const version = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')).version as string;
const offline = { ...process.env, npm_config_offline: 'true' };
let tmp: string;
let app: string;
const children: Child[] = [];

beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'wsguard-init-offline-'));
  app = join(tmp, 'app');
  installProject(app, [packTarball(tmp)]);
}, 180_000);
afterEach(async () => {
  for (const c of children.splice(0)) await c.stop();
});
afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

const wsguard = (args: string[], cwd: string) =>
  spawnSync(process.execPath, [join(app, 'node_modules/wsguard/dist/src/cli/bin.js'), ...args], {
    cwd,
    env: offline,
    encoding: 'utf8',
    timeout: 170_000,
  });

describe('wsguard init, offline, from the installed package', () => {
  it('in the project that installed wsguard: templates written, dependencies from the cache', () => {
    const r = wsguard(['init'], app);
    expect(r.status, `${r.stdout}${r.stderr}`).toBe(0);
    expect(readFileSync(join(app, 'server/websocket.ts'), 'utf8')).toBe(
      readFileSync(join(repoRoot, 'server/websocket.ts'), 'utf8'),
    );
    for (const d of ['zod', 'jose', 'tsx', 'pino-pretty'])
      expect(existsSync(join(app, 'node_modules', d)), d).toBe(true);
    expect(existsSync(join(app, '.wsguard'))).toBe(false);
  }, 180_000);

  it('in another project: installs this copy, and the generated app passes wsguard health', async () => {
    const other = join(tmp, 'other');
    mkdirSync(other);
    writeFileSync(join(other, 'package.json'), '{ "name": "other", "version": "1.0.0", "type": "module" }\n');
    const r = wsguard(['init', '--verbose'], other);
    expect(r.status, `${r.stdout}${r.stderr}`).toBe(0);
    expect(r.stdout).toContain('not in the package cache: installing this copy');
    const pkg = JSON.parse(readFileSync(join(other, 'package.json'), 'utf8'));
    expect(pkg.dependencies.wsguard).toBe(`file:.wsguard/wsguard-${version}.tgz`);
    expect(existsSync(join(other, 'node_modules/wsguard/dist/src/server/index.js'))).toBe(true);

    const port = await freePort();
    const child = startChild(process.execPath, ['--env-file=.env', '--import', 'tsx', 'server/index.ts'], {
      cwd: other,
      env: { PORT: String(port), NODE_ENV: 'development' },
    });
    children.push(child);
    await child.waitFor(/listening/, 60_000);
    const health = spawnSync(
      process.execPath,
      ['node_modules/.bin/wsguard', 'health', `--url=ws://127.0.0.1:${port}/ws`, '--samples=3'],
      { cwd: other, encoding: 'utf8', timeout: 60_000 },
    );
    expect(health.stdout).toContain('All checks passed');
    expect(health.status).toBe(0);
  }, 240_000);

  it('--version prints the installed version', () => {
    expect(wsguard(['--version'], app).stdout.trim()).toBe(version);
  });
});
