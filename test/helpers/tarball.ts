import { execFileSync } from 'node:child_process';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './project.js';

/**
 * Packs this checkout as `npm pack` would publish it (dist/ is built by the global setup, so
 * the prepack build is skipped: rebuilding dist/ would pull it from under parallel tests).
 * Returns the tarball's path.
 */
export function packTarball(dest: string): string {
  execFileSync(process.execPath, ['scripts/copy-templates.js'], { cwd: repoRoot });
  const out = execFileSync('npm', ['pack', '--silent', '--ignore-scripts', '--pack-destination', dest], {
    cwd: repoRoot,
    encoding: 'utf8',
  });
  return join(dest, out.trim().split('\n').pop() as string);
}

/**
 * A fresh project in `dir` with `specs` installed the way a user would, from npm's cache only
 * (this repository's install put every dependency there), and this repository's @types/node.
 */
export function installProject(dir: string, specs: readonly string[]): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), '{ "name": "app", "version": "1.0.0", "type": "module" }\n');
  execFileSync('npm', ['install', '--offline', '--no-audit', '--no-fund', ...specs], {
    cwd: dir,
    stdio: 'pipe',
  });
  mkdirSync(join(dir, 'node_modules/@types'), { recursive: true });
  symlinkSync(join(repoRoot, 'node_modules/@types/node'), join(dir, 'node_modules/@types/node'), 'dir');
}
