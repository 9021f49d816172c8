import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const src = (p: string) => fileURLToPath(new URL(`./src/${p}/index.ts`, import.meta.url));

// The live security dashboard (src/dashboard/): built into dist/dashboard, shipped in the package
// and served by wsguard itself at `dashboard.path`. Relative asset URLs: the server pins them
// to the configured path.
export default defineConfig({
  root: fileURLToPath(new URL('./src/dashboard', import.meta.url)),
  base: './',
  resolve: {
    alias: {
      'wsguard/client': src('client'),
      'wsguard/protocol': src('protocol'),
    },
  },
  build: {
    outDir: fileURLToPath(new URL('./dist/dashboard', import.meta.url)),
    emptyOutDir: true,
    // No inline script or style may end up in the page: the CSP forbids them.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    rollupOptions: { external: ['ws'] },
  },
  logLevel: 'warn',
});
