#!/usr/bin/env node
// Before `npm pack`: copies the demo files `wsguard init` writes into templates/, the only
// place the published package carries them. A top-level server/ in the package would be what
// TypeScript's legacy `node` resolution picks for `wsguard/server`.
import { cpSync, mkdirSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const out = process.argv[2] ?? `${root}templates`;
const files = [
  'server/index.ts',
  'server/websocket.ts',
  'server/events.ts',
  'server/cluster.ts',
  'client/src/utils/secureWebSocket.ts',
  'client/src/examples/websocket-example.tsx',
];
rmSync(out, { recursive: true, force: true });
for (const f of files) {
  mkdirSync(dirname(`${out}/${f}`), { recursive: true });
  cpSync(`${root}${f}`, `${out}/${f}`);
}
