import { spawnSync } from 'node:child_process';
import type { Child } from './process.js';
import { repoRoot } from './project.js';
import { signToken } from './server.js';

/** The ```ts block after each `<!-- recipe:NAME -->` marker. */
export function recipes(markdown: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of markdown.matchAll(/<!-- recipe:([\w-]+) -->\n```ts\n([\s\S]*?)```/g))
    out.set(m[1] as string, m[2] as string);
  return out;
}

/** Polls /healthz until it answers 200 (its JSON), failing at once if the recipe exits. */
export async function waitHealthy(base: string, child: Child, tries = 300): Promise<unknown> {
  for (let i = 0; i < tries; i++) {
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

/** `wsguard health` from the built CLI against a recipe's /ws: its exit status and output. */
export async function wsguardHealth(port: number): Promise<{ status: number | null; output: string }> {
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
  return { status: health.status, output: `${health.stdout}${health.stderr}` };
}
