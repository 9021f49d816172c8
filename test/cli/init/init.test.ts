import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { formatUsage } from '../../../src/cli/args.js';
import { main as healthMain } from '../../../src/cli/health/index.js';
import { initCommand, main, runInit } from '../../../src/cli/init/index.js';
import { SCRIPTS, TEMPLATE_FILES } from '../../../src/cli/init/plan.js';
import { connectAuthed } from '../../helpers/peer.js';
import { freePort, startChild } from '../../helpers/process.js';
import { linkDependencies, repoRoot, tempProject } from '../../helpers/project.js';

const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function project() {
  const p = tempProject();
  cleanups.push(p.cleanup);
  return p.dir;
}

function capture() {
  const lines: string[] = [];
  return { lines, io: { out: (l: string) => lines.push(l), err: (l: string) => lines.push(l) } };
}

describe('setup (init)', () => {
  it('writes the templates, a secret, the gitignore entry and the scripts', async () => {
    const dir = project();
    const r = await runInit({ dir, install: false });
    expect(r.exitCode).toBe(0);
    for (const t of TEMPLATE_FILES) {
      expect(readFileSync(join(dir, t.path), 'utf8')).toBe(readFileSync(join(repoRoot, t.path), 'utf8'));
    }
    expect(readFileSync(join(dir, '.env'), 'utf8')).toMatch(/^WSGUARD_JWT_SECRET=[\w-]{43}$/m);
    expect(readFileSync(join(dir, '.gitignore'), 'utf8').split('\n')).toContain('.env');
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    expect(pkg.scripts).toMatchObject(SCRIPTS);
  });

  it('is idempotent: a second run changes nothing', async () => {
    const dir = project();
    await runInit({ dir, install: false });
    const snapshot = () =>
      ['package.json', '.env', '.gitignore', ...TEMPLATE_FILES.map((t) => t.path)].map((f) =>
        readFileSync(join(dir, f), 'utf8'),
      );
    const before = snapshot();
    const r = await runInit({ dir, install: false });
    expect(snapshot()).toEqual(before);
    expect(r.steps.every((s) => s.status === 'unchanged' || s.status === 'kept')).toBe(true);
  });

  it('never overwrites a user-edited file without --force, and keeps the secret even with it', async () => {
    const dir = project();
    await runInit({ dir, install: false });
    const file = join(dir, 'server/websocket.ts');
    writeFileSync(file, '// my edits\n');
    const secret = readFileSync(join(dir, '.env'), 'utf8');

    const refused = await runInit({ dir, install: false });
    expect(refused.exitCode).toBe(1);
    expect(refused.refused).toEqual(['server/websocket.ts']);
    expect(readFileSync(file, 'utf8')).toBe('// my edits\n');

    const asked: string[] = [];
    const declined = await runInit({ dir, install: false, confirm: async (q) => (asked.push(q), false) });
    expect(asked).toEqual(['Overwrite server/websocket.ts?']);
    expect(declined.refused).toEqual(['server/websocket.ts']);

    const forced = await runInit({ dir, install: false, force: true });
    expect(forced.exitCode).toBe(0);
    expect(readFileSync(file, 'utf8')).toBe(readFileSync(join(repoRoot, 'server/websocket.ts'), 'utf8'));
    expect(readFileSync(join(dir, '.env'), 'utf8')).toBe(secret);
  });

  it('without a TTY, main() refuses and lists the files (exit 1)', async () => {
    const dir = project();
    await runInit({ dir, install: false });
    writeFileSync(join(dir, 'server/websocket.ts'), '// mine\n');
    const { lines, io } = capture();
    expect(await main([`--dir=${dir}`, '--no-install'], io)).toBe(1);
    expect(lines.join('\n')).toMatch(/Not overwritten .*server\/websocket\.ts.*--force/s);
  });

  it('does not write server/index.ts when the project has a server entry', async () => {
    const dir = project();
    writeFileSync(join(dir, 'index.js'), 'console.log(1)\n');
    const r = await runInit({ dir, install: false });
    expect(existsSync(join(dir, 'server/index.ts'))).toBe(false);
    expect(r.steps.find((s) => s.target === 'server/index.ts')?.status).toBe('skipped');
  });

  it('refuses a directory without package.json (exit 2)', async () => {
    const dir = project();
    const { rmSync } = await import('node:fs');
    rmSync(join(dir, 'package.json'));
    const { lines, io } = capture();
    expect(await main([`--dir=${dir}`, '--no-install'], io)).toBe(2);
    expect(lines.join('\n')).toContain('no package.json');
  });

  it('--help prints usage with every flag and an example; an unknown flag exits 2', async () => {
    const { lines, io } = capture();
    expect(await main(['--help'], io)).toBe(0);
    expect(lines.join('\n')).toMatchSnapshot();
    for (const flag of Object.keys(initCommand.flags)) expect(lines.join('\n')).toContain(`--${flag}`);
    const bad = capture();
    expect(await main(['--frobnicate'], bad.io)).toBe(2);
    expect(bad.lines.join('\n')).toContain(formatUsage(initCommand));
  });

  it('the generated server starts and serves an authenticated client', async () => {
    const dir = project();
    await runInit({ dir, install: false });
    linkDependencies(dir);
    const port = await freePort();
    const [cmd, ...args] = (SCRIPTS['ws:start'] as string).split(' ');
    const child = startChild(cmd === 'node' ? process.execPath : (cmd as string), args, {
      cwd: dir,
      env: { PORT: String(port), NODE_ENV: 'development' },
    });
    cleanups.push(() => child.stop());
    await child.waitFor(/listening/);
    const { peer, csrf } = await connectAuthed(`ws://127.0.0.1:${port}/ws`, 'test_token');
    peer.send({ id: 'e1', type: 'echo', payload: { hi: 1 }, csrf });
    expect(await peer.next('ack')).toEqual({ type: 'ack', id: 'e1', result: { hi: 1 } });
    peer.close();
    // ...and the health check passes against it
    const out: string[] = [];
    const code = await healthMain([`--url=ws://127.0.0.1:${port}/ws`, '--samples=3'], {
      out: (l) => out.push(l),
      err: (l) => out.push(l),
    });
    expect(out.join('\n')).toContain('All checks passed');
    expect(code).toBe(0);
  });

  it('installs from a local tarball of this package (npm pack)', async () => {
    const dir = project();
    const packDir = project();
    const tgz = execFileSync('npm', ['pack', '--silent', '--ignore-scripts', '--pack-destination', packDir], {
      cwd: repoRoot,
      encoding: 'utf8',
    })
      .trim()
      .split('\n')
      .pop() as string;
    const r = await runInit({ dir, from: join(packDir, tgz) });
    expect(r.exitCode).toBe(0);
    expect(r.installed).toBe(true);
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    expect(Object.keys(pkg.dependencies)).toEqual(expect.arrayContaining(['wsguard', 'zod', 'jose']));
    expect(existsSync(join(dir, 'node_modules/wsguard/dist/src/server/index.js'))).toBe(true);
  }, 180_000);
});
