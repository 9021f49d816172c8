import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const src = (p: string) => fileURLToPath(new URL(`./src/${p}/index.ts`, import.meta.url));

// The demo page (client/): built into dist/client, served by the demo server at `/`.
export default defineConfig({
  root: fileURLToPath(new URL('./client', import.meta.url)),
  resolve: {
    alias: {
      'wsguard/client': src('client'),
      'wsguard/react': src('react'),
      'wsguard/protocol': src('protocol'),
    },
  },
  build: {
    outDir: fileURLToPath(new URL('./dist/client', import.meta.url)),
    emptyOutDir: true,
    // The client loads `ws` only in Node; a browser never runs that branch.
    rollupOptions: { external: ['ws'] },
  },
  logLevel: 'warn',
});
