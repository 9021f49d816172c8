// The seed's two pages, kept true to the code: every command line runs as written (against the
// demo, `npm start`) or is --help-checked, every option they name exists in the types, every
// error code is listed, every link to a section lands on a heading, the directory tree exists.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { ErrorCodes } from '../../src/protocol/index.js';
import { type Child, freePort, startDemo } from '../helpers/process.js';
import { repoRoot } from '../helpers/project.js';

const run = promisify(execFile);
const read = (path: string) => readFileSync(join(repoRoot, path), 'utf8');
const detailed = read('docs/websocket-security.md');
const page = read('docs/README-websocket-security.md');

function sourceFiles(dir: string): string[] {
  return readdirSync(join(repoRoot, dir), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts'))
    .map((f) => read(join(dir, f)));
}
const source = [...sourceFiles('src/server'), ...sourceFiles('src/client')].join('\n');

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to dashes. */
function anchors(markdown: string): Set<string> {
  const out = new Set<string>();
  for (const m of markdown.matchAll(/^#{1,6} (.+)$/gm)) {
    out.add(
      (m[1] as string)
        .toLowerCase()
        .replace(/`/g, '')
        .replace(/[^\p{L}\p{N} _-]/gu, '')
        .replace(/ /g, '-'),
    );
  }
  return out;
}

/** Command lines in ```bash blocks that run one of the seed's scripts. */
function scriptCommands(markdown: string): string[] {
  const out: string[] = [];
  for (const block of markdown.matchAll(/```bash\n([\s\S]*?)```/g)) {
    for (const line of (block[1] as string).split('\n')) {
      if (line.startsWith('node scripts/')) out.push(line.trim());
    }
  }
  return out;
}

/** The `--flag` bullets listed under the section that shows `script`. */
function listedFlags(markdown: string, script: string): string[] {
  const start = markdown.indexOf(`node scripts/${script}`);
  const next = markdown.indexOf('\n### ', start);
  const section = markdown.slice(start, next === -1 ? undefined : next);
  return [...section.matchAll(/^- `(--[a-z-]+)/gm)].map((m) => m[1] as string);
}

describe('docs/README-websocket-security.md', () => {
  const demos: Child[] = [];
  afterAll(() => Promise.all(demos.map((d) => d.stop())));

  it('shows the three seed scripts, and nothing else runs from it', () => {
    const scripts = scriptCommands(page).map((c) => c.split(' ')[1]);
    expect(new Set(scripts)).toEqual(
      new Set([
        'scripts/test-websocket-health.js',
        'scripts/websocket-security-audit.js',
        'scripts/setup-websocket-security.js',
      ]),
    );
  });

  it.each(['test-websocket-health.js', 'websocket-security-audit.js', 'setup-websocket-security.js'])(
    'every option listed for %s is in its --help',
    async (script) => {
      const flags = listedFlags(page, script);
      expect(flags.length).toBeGreaterThanOrEqual(4);
      const { stdout } = await run(process.execPath, [`scripts/${script}`, '--help'], { cwd: repoRoot });
      for (const flag of flags) expect(stdout, `${script} --help lacks ${flag}`).toContain(flag);
    },
  );

  // Each command against its own demo: the demo's per-IP defences are meant to slow a second
  // client that probes the way these scripts do.
  it.each(scriptCommands(page).filter((c) => c.includes('localhost:3000')))(
    'runs as written against npm start: %s',
    async (command) => {
      const port = await freePort();
      const demo = startDemo(port);
      demos.push(demo);
      await demo.waitFor(/dev token/);
      const [, script, ...args] = command.replaceAll('localhost:3000', `127.0.0.1:${port}`).split(' ');
      // A scratch working directory, so the audit's reports do not land in the repository.
      const cwd = mkdtempSync(join(tmpdir(), 'wsguard-docs-'));
      const { stdout } = await run(process.execPath, [join(repoRoot, script as string), ...args], { cwd });
      expect(stdout).not.toMatch(/cannot reach/);
      if (script?.includes('audit')) {
        expect(
          readdirSync(join(cwd, 'reports/websocket-security'))
            .sort()
            .map((f) => f.split('.').pop()),
        ).toEqual(['json', 'md']);
      }
    },
    // The audit paces its upgrades under the demo's per-IP limit (24 a minute): a run takes minutes.
    240_000,
  );

  it('the setup command line is --help-checked (running it installs packages)', async () => {
    const [command] = scriptCommands(page).filter((c) => c.includes('setup-websocket-security'));
    expect(command).toBe('node scripts/setup-websocket-security.js');
    const { stdout } = await run(process.execPath, ['scripts/setup-websocket-security.js', '--help'], {
      cwd: repoRoot,
    });
    expect(stdout).toMatch(/^Usage: node scripts\/setup-websocket-security\.js/);
  });

  it('every path in the directory structure exists', () => {
    const tree = page.slice(page.indexOf('## Directory Structure'), page.indexOf('## Server-Side'));
    const stack: string[] = [];
    const paths: string[] = [];
    for (const line of tree.split('\n')) {
      const m = line.match(/^([│ ├└─]*)([\w.-]+\/?)/u);
      if (!m?.[2] || !/[├└]/u.test(m[1] ?? '')) continue;
      const depth = Math.floor((m[1] as string).length / 4) - 1;
      stack.length = depth;
      stack.push((m[2] as string).replace(/\/$/, ''));
      paths.push(stack.join('/'));
    }
    expect(paths).toContain('client/src/utils/secureWebSocket.ts');
    expect(paths).toContain('docs/README-websocket-security.md');
    for (const p of paths) expect(existsSync(join(repoRoot, p)), p).toBe(true);
  });

  it('every feature and section link lands on a heading of websocket-security.md', () => {
    const targets = anchors(detailed);
    const links = [...page.matchAll(/\(websocket-security\.md#([^)]+)\)/g)].map((m) => m[1] as string);
    expect(links.length).toBeGreaterThanOrEqual(20);
    for (const a of links) expect(targets, `#${a}`).toContain(a);
    for (const a of [...page.matchAll(/\]\(#([^)]+)\)/g)].map((m) => m[1] as string))
      expect(anchors(page), `#${a}`).toContain(a);
  });
});

describe('docs/websocket-security.md', () => {
  it('lists every error code with its close code, HTTP status and whether it closes', () => {
    for (const [code, entry] of Object.entries(ErrorCodes)) {
      const row = detailed.split('\n').find((l) => l.startsWith(`| \`${code}\``));
      expect(row, code).toBeDefined();
      const [, , close, http, closes] = (row as string).split('|').map((c) => c.trim());
      expect(close, code).toBe(String(entry.closeCode));
      expect(http, code).toBe('httpStatus' in entry ? String(entry.httpStatus) : '');
      expect(closes, code).toBe(entry.closes ? 'yes' : 'no');
    }
  });

  it('names only options that exist in the types', () => {
    const names = new Set<string>();
    for (const table of detailed.matchAll(/^\| Option[^\n]*\n\|[-| ]+\n((?:\|[^\n]*\n)+)/gm)) {
      for (const row of (table[1] as string).split('\n')) {
        const cell = row.split('|')[1]?.trim() ?? '';
        // A row about something that is not ours (Node's own settings) starts with plain text.
        if (!cell.startsWith('`')) continue;
        for (const code of cell.matchAll(/`([^`]+)`/g))
          names.add((code[1] as string).split('(')[0] as string);
      }
    }
    expect(names.size).toBeGreaterThanOrEqual(40);
    for (const name of names) {
      for (const part of name.split('.').filter(Boolean)) {
        expect(
          new RegExp(`\\b${part}\\??:`).test(source) || new RegExp(`\\b${part}\\(`).test(source),
          `${name}: ${part}`,
        ).toBe(true);
      }
    }
  });

  it('links only to sections that exist', () => {
    const targets = anchors(detailed);
    for (const a of [...detailed.matchAll(/\]\(#([^)]+)\)/g)].map((m) => m[1] as string))
      expect(targets, `#${a}`).toContain(a);
  });

  it('is linked from README.md next to README-websocket-security.md', () => {
    const readme = read('README.md');
    expect(readme).toContain('(docs/websocket-security.md)');
    expect(readme).toContain('(docs/README-websocket-security.md)');
  });
});
