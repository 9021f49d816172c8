import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The files setup writes. The templates are the demo app's own files in this package
 * (they import only `wsguard/*`, as a user's app does), so the demo and what setup
 * writes cannot drift apart.
 */
export const TEMPLATE_FILES = [
  {
    path: 'server/websocket.ts',
    why: "the app's WebSocket endpoint: setupWebSockets with schemas, handlers, auth",
  },
  {
    path: 'server/events.ts',
    why: "the app's event schemas (Zod), shared by the server and the page",
  },
  { path: 'server/index.ts', why: 'a server entry (only when the project has none)', onlyWithoutEntry: true },
  {
    path: 'client/src/utils/secureWebSocket.ts',
    why: 'the client module: SecureWebSocket with app defaults',
  },
] as const;

/** Entry files that mean "this project already has a server". */
const ENTRY_CANDIDATES = [
  'server/index.ts',
  'server/index.js',
  'src/index.ts',
  'src/index.js',
  'src/server.ts',
  'src/server.js',
  'index.js',
  'server.js',
];

/**
 * Where the template files are: the repository's own demo files, or templates/ in the
 * published package (which does not ship the demo's server/ at its top level).
 */
export function templatePath(root: string, path: string): string {
  const own = join(root, path);
  return existsSync(own) ? own : join(root, 'templates', path);
}

export const ENV_FILE = '.env';
export const SECRET_VAR = 'WSGUARD_JWT_SECRET';

export const SCRIPTS: Record<string, string> = {
  'ws:start': 'node --env-file=.env --import tsx server/index.ts',
  'ws:health': 'wsguard health',
  'ws:audit': 'wsguard audit',
};

export const DEPENDENCIES = ['zod', 'jose'];
export const DEV_DEPENDENCIES = ['tsx', 'pino-pretty'];

export function hasServerEntry(dir: string, pkg: { main?: string }): boolean {
  if (pkg.main && existsSync(join(dir, pkg.main))) return true;
  return ENTRY_CANDIDATES.some((p) => existsSync(join(dir, p)));
}

export function newSecret(): string {
  return randomBytes(32).toString('base64url');
}

/** The package manager the project uses, from its lock file. */
export function detectPackageManager(dir: string): 'npm' | 'pnpm' | 'yarn' {
  if (existsSync(join(dir, 'pnpm-lock.yaml'))) return 'pnpm';
  if (existsSync(join(dir, 'yarn.lock'))) return 'yarn';
  return 'npm';
}

export function readText(path: string): string | undefined {
  return existsSync(path) ? readFileSync(path, 'utf8') : undefined;
}
