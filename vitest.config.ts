import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (p: string) => fileURLToPath(new URL(`./src/${p}/index.ts`, import.meta.url));

export default defineConfig({
  resolve: {
    alias: {
      'wsguard/server': src('server'),
      'wsguard/client': src('client'),
      'wsguard/react': src('react'),
      'wsguard/protocol': src('protocol'),
    },
  },
  test: {
    include: ['test/**/*.test.ts', 'test/**/*.test.tsx'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 20_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // Most long tests wait on sockets, timers and child processes rather than the CPU; vitest's
    // default on a 2-core machine (one worker) runs them one after another.
    maxWorkers: 3,
  },
});
