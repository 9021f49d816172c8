#!/usr/bin/env node
// `npm start` runs the built demo; a fresh clone has no dist/ (nothing builds on install), so
// the first start builds it. Later starts reuse it: `npm run build` after editing the sources.
import { execSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const built = [
  'dist/server/index.js',
  'dist/server/cluster.js',
  'dist/client/index.html',
  'dist/dashboard/index.html',
];
if (!built.every((f) => existsSync(new URL(`../${f}`, import.meta.url)))) {
  console.log('dist/ is missing: building it once (npm run build)');
  execSync('npm run build', { cwd: root, stdio: 'inherit' });
}
