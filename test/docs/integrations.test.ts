import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { type Child, freePort, startChild } from '../helpers/process.js';
import { repoRoot } from '../helpers/project.js';
import { signToken, TEST_SECRET } from '../helpers/server.js';

// The framework recipes in docs/integrations.md and the README's Express example, run exactly
// as printed: each block is written to a file inside this package (so `wsguard/server` resolves
// to the built dist through the package's own exports), started with tsx, then checked with
// /healthz, an app route and `wsguard health`.

/** The ```ts block after each `<!-- recipe:NAME -->` marker. */
function recipes(markdown: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of markdown.matchAll(/<!-- recipe:([\w-]+) -->\n```ts\n([\s\S]*?)```/g))
    out.set(m[1] as string, m[2] as string);
  return out;
}

const dir = join(repoRoot, 'test-output', 'recipes');
const children: Child[] = [];
afterEach(async () => {
  for (const c of children.splice(0)) await c.stop();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function waitHealthy(base: string, child: Child) {
  for (let i = 0; i < 300; i++) {
    if (child.proc.exitCode !== null) throw new Error(`recipe exited:\n${child.output()}`);
    try {
      const r = await fetch(`${base}/healthz`);
      if (r.status === 200) return r.json();
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no /healthz:\n${child.output()}`);
}

const docs = recipes(readFileSync(join(repoRoot, 'docs/integrations.md'), 'utf8'));
const readme = recipes(readFileSync(join(repoRoot, 'README.md'), 'utf8'));

describe('framework recipes', () => {
  it('the docs have every recipe, and the README its 15-line Express example', () => {
    expect([...docs.keys()]).toEqual(['express', 'fastify', 'koa', 'hono']);
    expect(readme.get('readme-express')?.trimEnd().split('\n')).toHaveLength(15);
  });

  const all = [...docs, ...readme];
  for (const [name, code] of all) {
    it(`${name}: starts as written and passes /healthz, its own route and wsguard health`, async () => {
      mkdirSync(dir, { recursive: true });
      const file = join(dir, `${name}.ts`);
      writeFileSync(file, code);
      const port = await freePort();
      const child = startChild(process.execPath, ['--import', 'tsx', file], {
        cwd: repoRoot,
        env: { PORT: String(port), WSGUARD_JWT_SECRET: TEST_SECRET, NODE_ENV: 'development' },
      });
      children.push(child);
      const base = `http://127.0.0.1:${port}`;
      expect(await waitHealthy(base, child)).toMatchObject({ status: 'ok' });
      const hello = await fetch(`${base}/api/hello`);
      expect(hello.status).toBe(200);
      expect(await hello.json()).toEqual({ hello: 'world' });
      expect((await fetch(`${base}/nope`)).status).toBe(404);
      const health = spawnSync(
        process.execPath,
        [
          'dist/src/cli/bin.js',
          'health',
          `--url=ws://127.0.0.1:${port}/ws`,
          `--token=${await signToken('health-user')}`,
        ],
        { cwd: repoRoot, encoding: 'utf8', timeout: 60_000 },
      );
      expect(health.status, `${health.stdout}${health.stderr}`).toBe(0);
    }, 90_000);
  }
});
