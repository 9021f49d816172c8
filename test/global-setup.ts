import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * Builds dist/ once before the suite: tests that start the demo server or the scripts as child
 * processes run the built code, exactly as `npm start` and the seed's commands do.
 */
export default function setup(): void {
  const root = fileURLToPath(new URL('..', import.meta.url));
  // From clean: a module moved or deleted since the last build must not linger in dist/ (the
  // tarball test packs dist/src as it is).
  rmSync(`${root}dist/src`, { recursive: true, force: true });
  execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], {
    cwd: root,
    stdio: 'inherit',
  });
  execFileSync(process.execPath, ['node_modules/vite/bin/vite.js', 'build'], { cwd: root, stdio: 'inherit' });
  execFileSync(
    process.execPath,
    ['node_modules/vite/bin/vite.js', 'build', '--config', 'vite.dashboard.config.ts'],
    {
      cwd: root,
      stdio: 'inherit',
    },
  );
}
