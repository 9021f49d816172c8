import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { type Child, freePort, startChild } from '../helpers/process.js';
import { repoRoot } from '../helpers/project.js';
import { recipes, waitHealthy, wsguardHealth } from '../helpers/recipes.js';
import { TEST_SECRET } from '../helpers/server.js';

// The framework recipes in docs/integrations.md and the README's Express example, run exactly
// as printed: each block is written to a file inside this package (so `wsguard/server` resolves
// to the built dist through the package's own exports), started with tsx, then checked with
// /healthz, an app route and `wsguard health`.

const dir = join(repoRoot, 'test-output', 'recipes');
const children: Child[] = [];
afterEach(async () => {
  for (const c of children.splice(0)) await c.stop();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const docs = recipes(readFileSync(join(repoRoot, 'docs/integrations.md'), 'utf8'));
const readme = recipes(readFileSync(join(repoRoot, 'README.md'), 'utf8'));

describe('framework recipes', () => {
  it('the docs have every recipe, and the README its 15-line Express example', () => {
    expect([...docs.keys()]).toEqual(['express', 'fastify', 'koa', 'hono', 'next']);
    expect(readme.get('readme-express')?.trimEnd().split('\n')).toHaveLength(15);
  });

  // The Next.js recipe needs an app to serve and a build: integrations-next.test.ts runs it.
  const all = [...docs, ...readme].filter(([name]) => name !== 'next');
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
      const health = await wsguardHealth(port);
      expect(health.status, health.output).toBe(0);
    }, 90_000);
  }
});
