import { spawn } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline/promises';
import { packageRoot, packageVersion } from '../../package-root.js';
import { type CommandSpec, readCommandLine } from '../args.js';
import {
  DEPENDENCIES,
  DEV_DEPENDENCIES,
  detectPackageManager,
  ENV_FILE,
  hasServerEntry,
  newSecret,
  readText,
  SCRIPTS,
  SECRET_VAR,
  TEMPLATE_FILES,
  templatePath,
} from './plan.js';

export const initCommand: CommandSpec = {
  usage: 'node scripts/setup-websocket-security.js',
  summary:
    'Sets up wsguard in the project in the current directory: writes server/websocket.ts, server/index.ts\n' +
    '(when the project has no server entry) and client/src/utils/secureWebSocket.ts, a .env with a fresh\n' +
    `${SECRET_VAR}, a .gitignore entry for it, npm scripts (ws:start, ws:health, ws:audit), and installs\n` +
    'the dependencies. Existing files are never overwritten without --force. A second run changes nothing.',
  flags: {
    help: { type: 'boolean', help: 'Show this help and exit' },
    force: { type: 'boolean', help: 'Overwrite existing files without prompting' },
    verbose: { type: 'boolean', help: 'Tell every step' },
    dir: { type: 'string', valueName: 'path', help: 'Project directory', default: '.' },
    'no-install': { type: 'boolean', help: 'Do not install dependencies' },
    from: {
      type: 'string',
      valueName: 'spec',
      help: 'Install wsguard from this npm spec, path or tarball (default: this version from the npm cache, else this installed copy)',
    },
  },
  examples: [
    'node scripts/setup-websocket-security.js',
    'node scripts/setup-websocket-security.js --dir=../my-app --verbose',
    'npx wsguard init --force --no-install',
    'npx wsguard init --from=./wsguard-0.1.0.tgz',
  ],
};

export type StepStatus = 'created' | 'updated' | 'unchanged' | 'overwritten' | 'kept' | 'skipped' | 'refused';

export interface InitStep {
  target: string;
  status: StepStatus;
  note?: string;
}

export interface InitOptions {
  dir: string;
  force?: boolean;
  verbose?: boolean;
  install?: boolean;
  /** npm spec for wsguard itself. @default `wsguard@^<this version>` from the package cache, else this installed copy packed into `.wsguard/` */
  from?: string;
  /** Asks whether to overwrite a file; undefined when there is no TTY (then refuse). */
  confirm?: (question: string) => Promise<boolean>;
  log?: (line: string) => void;
}

export interface InitResult {
  steps: InitStep[];
  /** Files that exist, differ, and were not overwritten. */
  refused: string[];
  installed: boolean;
  exitCode: number;
}

interface PackageJson {
  main?: string;
  scripts?: Record<string, string>;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
}

/** Runs the setup in `options.dir`. Never throws for expected conditions: see `exitCode`. */
export async function runInit(options: InitOptions): Promise<InitResult> {
  const dir = resolve(options.dir);
  const log = options.log ?? (() => {});
  const verbose = (line: string) => options.verbose && log(line);
  const steps: InitStep[] = [];
  const refused: string[] = [];
  const step = (s: InitStep) => {
    steps.push(s);
    log(`  ${s.status.padEnd(11)} ${s.target}${s.note ? `  (${s.note})` : ''}`);
  };

  const pkgPath = join(dir, 'package.json');
  if (!existsSync(pkgPath)) {
    log(`no package.json in ${dir}: run \`npm init -y\` there first`);
    return { steps, refused, installed: false, exitCode: 2 };
  }
  const pkg = JSON.parse(readFileSync(pkgPath, 'utf8')) as PackageJson;
  const root = packageRoot();
  const withEntry = hasServerEntry(dir, pkg);
  verbose(`project: ${dir}; templates from ${root}`);

  for (const t of TEMPLATE_FILES) {
    const target = join(dir, t.path);
    const template = readFileSync(templatePath(root, t.path), 'utf8');
    const current = readText(target);
    verbose(`${t.path}: ${t.why}`);
    if ('onlyWithoutEntry' in t && current === undefined && withEntry) {
      step({ target: t.path, status: 'skipped', note: 'the project already has a server entry' });
      continue;
    }
    if (current === template) {
      step({ target: t.path, status: 'unchanged' });
      continue;
    }
    if (current !== undefined) {
      const overwrite =
        options.force || (options.confirm ? await options.confirm(`Overwrite ${t.path}?`) : false);
      if (!overwrite) {
        refused.push(t.path);
        step({ target: t.path, status: 'refused', note: 'exists and differs; --force to overwrite' });
        continue;
      }
    }
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, template);
    step({ target: t.path, status: current === undefined ? 'created' : 'overwritten' });
  }

  // The secret is never overwritten, not even with --force: replacing it logs every user out.
  const envPath = join(dir, ENV_FILE);
  const env = readText(envPath);
  if (env !== undefined && new RegExp(`^${SECRET_VAR}=.+`, 'm').test(env)) {
    step({ target: ENV_FILE, status: 'kept', note: `${SECRET_VAR} already set` });
  } else {
    const line = `# wsguard: HS256 secret for the app's JWTs. Keep it out of version control.\n${SECRET_VAR}=${newSecret()}\n`;
    if (env === undefined) writeFileSync(envPath, line, { mode: 0o600 });
    else appendFileSync(envPath, `${env.endsWith('\n') || env === '' ? '' : '\n'}${line}`);
    step({
      target: ENV_FILE,
      status: env === undefined ? 'created' : 'updated',
      note: `fresh ${SECRET_VAR}`,
    });
  }

  const ignorePath = join(dir, '.gitignore');
  const ignore = readText(ignorePath);
  if (ignore?.split(/\r?\n/).some((l) => l.trim() === ENV_FILE || l.trim() === `/${ENV_FILE}`)) {
    step({ target: '.gitignore', status: 'unchanged' });
  } else {
    appendFileSync(ignorePath, `${ignore && !ignore.endsWith('\n') ? '\n' : ''}${ENV_FILE}\n`);
    step({
      target: '.gitignore',
      status: ignore === undefined ? 'created' : 'updated',
      note: `ignores ${ENV_FILE}`,
    });
  }

  const scripts = { ...(pkg.scripts ?? {}) };
  const added: string[] = [];
  for (const [name, cmd] of Object.entries(SCRIPTS)) {
    if (scripts[name] === cmd) continue;
    if (scripts[name] !== undefined && !options.force) {
      verbose(`script ${name} exists and differs; kept`);
      continue;
    }
    scripts[name] = cmd;
    added.push(name);
  }
  if (added.length > 0) {
    const fresh = JSON.parse(readFileSync(pkgPath, 'utf8')) as PackageJson;
    fresh.scripts = scripts;
    writeFileSync(pkgPath, `${JSON.stringify(fresh, null, 2)}\n`);
    step({ target: 'package.json', status: 'updated', note: `scripts ${added.join(', ')}` });
  } else step({ target: 'package.json', status: 'unchanged' });

  let installed = false;
  let exitCode = refused.length > 0 ? 1 : 0;
  if (options.install !== false) {
    const missing = [...DEPENDENCIES, 'wsguard'].filter((d) => !existsSync(join(dir, 'node_modules', d)));
    const missingDev = DEV_DEPENDENCIES.filter((d) => !existsSync(join(dir, 'node_modules', d)));
    if (missing.length === 0 && missingDev.length === 0) {
      step({ target: 'dependencies', status: 'unchanged' });
    } else {
      const pm = detectPackageManager(dir);
      const v = options.verbose ?? false;
      const others = missing.filter((d) => d !== 'wsguard');
      const deps: string[] = [];
      let ok = true;
      if (missing.includes('wsguard')) {
        const r = await installWsguard(pm, dir, options.from, v, verbose);
        ok = r.ok;
        deps.push(r.spec);
      }
      deps.push(...others);
      ok &&= others.length === 0 || (await install(pm, dir, others, false, v, 'prefer-offline'));
      ok &&= missingDev.length === 0 || (await install(pm, dir, missingDev, true, v, 'prefer-offline'));
      if (ok) {
        installed = true;
        step({
          target: 'dependencies',
          status: 'updated',
          note: `${pm}: ${[...deps, ...missingDev].join(' ')}`,
        });
      } else {
        exitCode = 1;
        log(
          `could not install the dependencies (offline, or the registry refused). Run later:\n` +
            `  ${pm} ${pm === 'npm' ? 'install' : 'add'} ${deps.join(' ')} && ${pm} ${pm === 'npm' ? 'install -D' : 'add -D'} ${missingDev.join(' ')}`,
        );
      }
    }
  } else verbose('dependencies: skipped (--no-install)');

  if (refused.length > 0) {
    log(
      `\nNot overwritten (they exist and differ): ${refused.join(', ')}. Re-run with --force to replace them.`,
    );
  }
  return { steps, refused, installed, exitCode };
}

/**
 * Installs wsguard without the network when it can: the `--from` spec if given; else this
 * version from npm's cache; else this very copy of the package, packed into `.wsguard/` in the
 * project (so `wsguard init` works offline, and before the version is on the registry).
 */
async function installWsguard(
  pm: string,
  dir: string,
  from: string | undefined,
  v: boolean,
  verbose: (line: string) => void,
): Promise<{ ok: boolean; spec: string }> {
  if (from !== undefined)
    return { ok: await install(pm, dir, [from], false, v, 'prefer-offline'), spec: from };
  const registry = `wsguard@^${packageVersion()}`;
  if (await install(pm, dir, [registry], false, v, 'offline')) return { ok: true, spec: registry };
  verbose(`${registry} is not in the package cache: installing this copy (${packageRoot()})`);
  const dest = join(dir, '.wsguard');
  mkdirSync(dest, { recursive: true });
  const tgz = await run(
    'npm',
    ['pack', packageRoot(), '--ignore-scripts', '--silent', '--pack-destination', dest],
    dir,
  );
  const file = tgz.ok ? tgz.out.trim().split('\n').pop() : undefined;
  if (!file) return { ok: false, spec: registry };
  const spec = `./.wsguard/${file}`;
  return { ok: await install(pm, dir, [spec], false, v, 'prefer-offline'), spec };
}

function install(
  pm: string,
  dir: string,
  deps: string[],
  dev: boolean,
  verbose: boolean,
  network: 'offline' | 'prefer-offline',
): Promise<boolean> {
  const args = [pm === 'npm' ? 'install' : 'add', ...(dev ? ['-D'] : []), `--${network}`, ...deps];
  return run(pm, args, dir, verbose).then((r) => r.ok);
}

function run(
  cmd: string,
  args: string[],
  cwd: string,
  inherit = false,
): Promise<{ ok: boolean; out: string }> {
  return new Promise((resolvePromise) => {
    const child = spawn(cmd, args, {
      cwd,
      stdio: inherit ? 'inherit' : ['ignore', 'pipe', 'ignore'],
      shell: process.platform === 'win32',
    });
    let out = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.on('error', () => resolvePromise({ ok: false, out }));
    child.on('exit', (code) => resolvePromise({ ok: code === 0, out }));
  });
}

/** The command: `wsguard init` / `node scripts/setup-websocket-security.js`. Returns the exit code. */
export async function main(
  argv: readonly string[],
  io = { out: console.log, err: console.error },
): Promise<number> {
  const flags = readCommandLine(initCommand, argv, io);
  if (typeof flags === 'number') return flags;
  const tty = process.stdin.isTTY && process.stdout.isTTY;
  const rl = tty ? createInterface({ input: process.stdin, output: process.stdout }) : undefined;
  try {
    io.out(`wsguard setup in ${resolve(String(flags.dir))}`);
    const result = await runInit({
      dir: String(flags.dir),
      force: flags.force === true,
      verbose: flags.verbose === true,
      install: flags['no-install'] !== true,
      ...(typeof flags.from === 'string' ? { from: flags.from } : {}),
      ...(rl
        ? { confirm: async (q: string) => /^y(es)?$/i.test((await rl.question(`${q} [y/N] `)).trim()) }
        : {}),
      log: io.out,
    });
    if (result.exitCode === 0)
      io.out('\nDone. Start the server with `npm run ws:start`, then `npm run ws:health`.');
    return result.exitCode;
  } finally {
    rl?.close();
  }
}
