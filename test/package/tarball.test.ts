import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/project.js';
import { installProject, packTarball } from '../helpers/tarball.js';

// The published package, exactly: packed, installed into a fresh project from npm's cache
// (no link to this checkout), then imported, required and type-checked the ways apps do.

let tmp: string;
let tgz: string;
let app: string;
let files: string[];

beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'wsguard-tarball-'));
  tgz = packTarball(tmp);
  files = execFileSync('tar', ['tzf', tgz], { encoding: 'utf8' })
    .trim()
    .split('\n')
    .map((f) => f.replace(/^package\//, ''));
  app = join(tmp, 'app');
  installProject(app, [tgz]);
}, 180_000);

afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

const run = (file: string, args: string[] = []) => {
  const r = spawnSync(process.execPath, [...args, file], { cwd: app, encoding: 'utf8', timeout: 30_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
};

describe('the tarball', () => {
  it('ships dist, its sources, templates and docs only', () => {
    const top = new Set(files.map((f) => (f.includes('/') ? `${f.split('/')[0]}/` : f)));
    expect([...top].sort()).toEqual(
      [
        'CHANGELOG.md',
        'LICENSE',
        'README.md',
        'SECURITY.md',
        'dist/',
        'docs/',
        'package.json',
        'src/',
        'templates/',
      ].sort(),
    );
    // The dashboard page ships built (dist/dashboard), served by the server from there.
    expect(files.filter((f) => f.startsWith('dist/') && !/^dist\/(src|dashboard)\//.test(f))).toEqual([]);
    expect(files.filter((f) => /\.test\.tsx?$/.test(f))).toEqual([]);
    expect(files).toContain('templates/server/websocket.ts');
    expect(files).toContain('templates/client/src/utils/secureWebSocket.ts');
  });

  it('every source map points at a file the package ships', () => {
    const maps = files.filter((f) => f.endsWith('.js.map'));
    expect(maps.length).toBeGreaterThan(50);
    const shipped = new Set(files);
    const missing: string[] = [];
    for (const m of maps) {
      const map = JSON.parse(readFileSync(join(app, 'node_modules/wsguard', m), 'utf8')) as {
        sources: string[];
      };
      for (const s of map.sources) {
        const resolved = new URL(s, `file:///${m}`).pathname.slice(1);
        if (!shipped.has(resolved)) missing.push(`${m} -> ${s}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('runs no script on install and states the Node versions it supports', () => {
    const pkg = JSON.parse(readFileSync(join(app, 'node_modules/wsguard/package.json'), 'utf8'));
    for (const s of ['preinstall', 'install', 'postinstall', 'prepare'])
      expect(pkg.scripts?.[s]).toBeUndefined();
    expect(pkg.engines.node).toBe('>=20.19');
    expect(Object.keys(pkg.dependencies).sort()).toEqual(['jose', 'pino', 'ws', 'xss', 'zod']);
    expect(pkg.peerDependenciesMeta).toMatchObject({
      ioredis: { optional: true },
      'prom-client': { optional: true },
    });
    expect(existsSync(join(app, 'node_modules/ioredis'))).toBe(false);
    expect(existsSync(join(app, 'node_modules/prom-client'))).toBe(false);
  });
});

const SERVER_CHECK = `
const http = await import('node:http');
const server = http.createServer();
const wss = setupWebSockets(server, { auth: { verify: async () => null }, messages: {} });
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const base = 'http://127.0.0.1:' + server.address().port;
const health = await fetch(base + '/healthz');
const metrics = await fetch(base + '/metrics');
let redis;
try { redisStore(); } catch (e) { redis = e.name + ': ' + e.message; }
console.log(JSON.stringify({ health: health.status, metrics: metrics.status, metricsText: await metrics.text(), redis }));
await wss.close();
server.close();
`;

describe('at run time, without the optional peers installed', () => {
  it('imports as ESM and serves /healthz; /metrics and redisStore() name the package to install', () => {
    writeFileSync(
      join(app, 'esm.mjs'),
      `import { setupWebSockets, redisStore } from 'wsguard/server';\nimport { SecureWebSocket } from 'wsguard/client';\nimport { CloseCode } from 'wsguard/protocol';\nif (typeof SecureWebSocket !== 'function' || !CloseCode) throw new Error('exports');\n${SERVER_CHECK}`,
    );
    const r = run('esm.mjs');
    expect(r.err).not.toMatch(/Error/);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.out.split('\n')[0] as string);
    expect(out.health).toBe(200);
    expect(out.metrics).toBe(501);
    expect(out.metricsText).toBe(
      "wsguard: The /metrics endpoint needs the package 'prom-client': npm install prom-client\n",
    );
    expect(out.redis).toBe(
      "WsgConfigError: wsguard: redisStore() needs the package 'ioredis': npm install ioredis",
    );
  });

  it('loads with require() (CommonJS)', () => {
    writeFileSync(
      join(app, 'cjs.cjs'),
      `const { setupWebSockets, redisStore } = require('wsguard/server');\nconst { SecureWebSocket } = require('wsguard/client');\nif (typeof SecureWebSocket !== 'function') throw new Error('exports');\n(async () => {\n${SERVER_CHECK}\n})().catch((e) => { console.error(e); process.exit(1); });`,
    );
    const r = run('cjs.cjs');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out.split('\n')[0] as string)).toMatchObject({ health: 200, metrics: 501 });
  });

  it('the CLI answers --version with the package version', () => {
    const r = run('node_modules/wsguard/dist/src/cli/bin.js', []);
    expect(r.code).toBe(2);
    const v = spawnSync(process.execPath, ['node_modules/.bin/wsguard', '--version'], {
      cwd: app,
      encoding: 'utf8',
    });
    expect(v.stdout.trim()).toBe(JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')).version);
  });
});

// Type-checked as an app would write it: strict, lib checking on (no skipLibCheck), payload
// types inferred from the schemas, option typos caught.
const APP_TS = `import { createServer } from 'node:http';
import { SecureWebSocket } from 'wsguard/client';
import { CloseCode, type ErrorCode } from 'wsguard/protocol';
import { safeText, setupWebSockets, type WsGuardServer } from 'wsguard/server';
import { z } from 'zod';

const server = createServer();
const wss: WsGuardServer = setupWebSockets(server, {
  path: '/ws',
  auth: { verify: async () => ({ id: 'user-1' }) },
  messages: { chat: z.object({ text: safeText({ min: 1, max: 100 }), n: z.number().optional() }) },
  handlers: {
    chat: (ctx, { text, n }) => {
      const upper: string = text.toUpperCase();
      const maybe: number | undefined = n;
      // @ts-expect-error the payload is typed from the schema
      const wrong: number = text;
      return { upper, maybe, wrong, from: ctx.user.id };
    },
  },
});
// @ts-expect-error an option typo is caught
setupWebSockets(server, { auth: {}, pahth: '/x' });
const code: ErrorCode = 'WSG_RATE_LIMITED';
export const used = [wss.clients, CloseCode, code, SecureWebSocket];
`;

const CTS = `import server = require('wsguard/server');
import client = require('wsguard/client');
export const used = [server.setupWebSockets, client.SecureWebSocket];
`;

const CONFIGS: Record<string, { module: string; moduleResolution: string; cts: boolean }> = {
  node16: { module: 'node16', moduleResolution: 'node16', cts: false },
  nodenext: { module: 'nodenext', moduleResolution: 'nodenext', cts: true },
  bundler: { module: 'esnext', moduleResolution: 'bundler', cts: false },
  node: { module: 'commonjs', moduleResolution: 'node', cts: false },
};

function typecheck(compiler: string, name: string, extra: Record<string, unknown> = {}) {
  const c = CONFIGS[name] as (typeof CONFIGS)[string];
  const config = {
    compilerOptions: {
      target: 'ES2022',
      module: c.module,
      moduleResolution: c.moduleResolution,
      lib: ['ES2022', 'DOM'],
      types: ['node'],
      strict: true,
      exactOptionalPropertyTypes: true,
      noUncheckedIndexedAccess: true,
      noEmit: true,
      ...extra,
    },
    files: ['app.ts', ...(c.cts ? ['require.cts'] : [])],
  };
  const file = `tsconfig.${name}.json`;
  writeFileSync(join(app, file), JSON.stringify(config, null, 2));
  const r = spawnSync(process.execPath, [compiler, '-p', file], {
    cwd: app,
    encoding: 'utf8',
    timeout: 120_000,
  });
  return `${r.stdout}${r.stderr}`.trim();
}

describe('TypeScript in the installed package', () => {
  beforeAll(() => {
    writeFileSync(join(app, 'app.ts'), APP_TS);
    writeFileSync(join(app, 'require.cts'), CTS);
  });

  const tsc = join(repoRoot, 'node_modules/typescript/bin/tsc');
  for (const name of Object.keys(CONFIGS)) {
    it(`TypeScript 5.9, moduleResolution ${name}: zero errors`, () => {
      // A CommonJS project on legacy resolution has esModuleInterop on (tsc --init's default):
      // without it, pino's and zod's own declarations fail to compile.
      expect(typecheck(tsc, name, name === 'node' ? { esModuleInterop: true } : {})).toBe('');
    }, 60_000);
  }

  // TypeScript 7 removed legacy `moduleResolution: node` (node10): it refuses the option itself
  // (TS5108), so that mode is checked with 5.9 only.
  const tsgo = join(repoRoot, 'node_modules/@typescript/native-preview/lib/tsgo.js');
  for (const name of ['node16', 'nodenext', 'bundler']) {
    it(`TypeScript 7 (native preview), moduleResolution ${name}: zero errors`, () => {
      expect(typecheck(tsgo, name)).toBe('');
    }, 60_000);
  }
});
