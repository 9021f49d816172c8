import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** This repository's root. */
export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

/** A temporary project directory with a package.json; removed by `cleanup`. */
export function tempProject(
  pkg: Record<string, unknown> = { name: 'app', version: '1.0.0', type: 'module' },
) {
  const dir = mkdtempSync(join(tmpdir(), 'wsguard-project-'));
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`);
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * Links this checkout as the project's `wsguard` dependency (plus the few packages the
 * templates import), as an installed package would be, without a network install.
 */
export function linkDependencies(dir: string, names: readonly string[] = ['zod', 'jose', 'tsx']): void {
  mkdirSync(join(dir, 'node_modules'), { recursive: true });
  symlinkSync(repoRoot, join(dir, 'node_modules', 'wsguard'), 'dir');
  for (const n of names) symlinkSync(join(repoRoot, 'node_modules', n), join(dir, 'node_modules', n), 'dir');
}
