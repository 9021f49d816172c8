import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CloseCode, ControlType, ErrorCodes, HttpStatus, isErrorCode } from '../../src/protocol/index.js';
import { ConfigErrorCodes } from '../../src/server/errors.js';

// The protocol page must list every code the registry has, with the registry's values, and no
// document may name a code the registry does not have (fastify's errors test is the model).

const root = fileURLToPath(new URL('../../', import.meta.url));
const read = (path: string) => readFileSync(`${root}${path}`, 'utf8');
const protocol = read('docs/PROTOCOL.md');

/** The text under `## title`, up to the next `## ` heading. */
function section(md: string, title: string): string {
  const start = md.indexOf(`\n## ${title}\n`);
  if (start === -1) throw new Error(`docs/PROTOCOL.md has no section "## ${title}"`);
  const end = md.indexOf('\n## ', start + 1);
  return md.slice(start, end === -1 ? undefined : end);
}

/** Table rows of a section, keyed by their first cell with backticks removed. */
function rows(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const line of text.split('\n')) {
    if (!line.startsWith('| ') || line.startsWith('| ---')) continue;
    const cells = line
      .slice(1, -1)
      .split(' | ')
      .map((c) => c.trim());
    out.set((cells[0] ?? '').replaceAll('`', ''), cells);
  }
  return out;
}

const unquote = (cell: string | undefined) => (cell ?? '').replaceAll('`', '');

describe('docs/PROTOCOL.md', () => {
  const errorRows = rows(section(protocol, 'Error codes'));

  it.each(Object.entries(ErrorCodes))('lists %s with its registry values', (code, info) => {
    const row = errorRows.get(code);
    expect(row, `no table row for ${code}`).toBeDefined();
    const [, message, closes, closeCode, http] = row as string[];
    expect(message).toBe(info.message);
    expect(closes).toBe(info.closes ? 'yes' : 'no');
    expect(closeCode).toBe(String(info.closeCode));
    expect(http).toBe('httpStatus' in info ? String(info.httpStatus) : '—');
  });

  it('has no error-code row the registry lacks', () => {
    for (const code of errorRows.keys()) {
      if (code === 'Code') continue;
      expect(isErrorCode(code), `${code} is not in ErrorCodes`).toBe(true);
    }
  });

  it('lists every close code with its name, and no other', () => {
    const table = rows(section(protocol, 'Close codes'));
    for (const [name, value] of Object.entries(CloseCode)) {
      expect(unquote(table.get(String(value))?.[1]), `close code ${value}`).toBe(name);
    }
    const listed = [...table.keys()].filter((k) => k !== 'Close code');
    expect(listed.sort()).toEqual(Object.values(CloseCode).map(String).sort());
  });

  it('lists every HTTP status with its name, and no other', () => {
    const table = rows(section(protocol, 'HTTP statuses at the upgrade'));
    for (const [name, value] of Object.entries(HttpStatus)) {
      expect(unquote(table.get(String(value))?.[1]), `HTTP status ${value}`).toBe(name);
    }
    const listed = [...table.keys()].filter((k) => k !== 'HTTP');
    expect(listed.sort()).toEqual(Object.values(HttpStatus).map(String).sort());
  });

  it('lists every reserved control type name', () => {
    const reserved = /\*\*Reserved names\*\*[\s\S]*?\n\n/.exec(protocol)?.[0] ?? '';
    for (const type of Object.values(ControlType)) expect(reserved).toContain(`\`${type}\``);
  });
});

describe('every document', () => {
  const docs = [
    'README.md',
    'SECURITY.md',
    'CHANGELOG.md',
    ...readdirSync(`${root}docs`, { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.md'))
      .map((f) => `docs/${f}`),
  ].filter((f) => existsSync(`${root}${f}`));

  it('finds the documents', () => {
    expect(docs).toContain('docs/PROTOCOL.md');
    expect(docs).toContain('README.md');
  });

  it.each(docs)('%s names only WSG_ codes that exist', (file) => {
    const named = new Set(read(file).match(/\bWSG_[A-Z0-9_]*[A-Z0-9]\b/g) ?? []);
    // Setup errors (WsgConfigError codes, docs/ARCHITECTURE.md) are codes too, never sent on the wire.
    const unknown = [...named].filter((c) => !isErrorCode(c) && !Object.hasOwn(ConfigErrorCodes, c));
    expect(unknown, `${file} names codes missing from ErrorCodes`).toEqual([]);
  });
});
