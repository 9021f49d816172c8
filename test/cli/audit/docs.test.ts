import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ALL_CHECKS } from '../../../src/cli/audit/catalogue.js';
import { auditCommand } from '../../../src/cli/audit/index.js';
import { repoRoot } from '../../helpers/project.js';

const doc = readFileSync(join(repoRoot, 'docs/audit.md'), 'utf8');

describe('docs/audit.md', () => {
  it.each(ALL_CHECKS.map((c) => [c.id, c] as const))(
    'documents %s with its severity and CWE',
    (id, check) => {
      const row = doc.split('\n').find((l) => l.startsWith(`| \`${id}\``));
      expect(row, `no table row for ${id}`).toBeDefined();
      const cells = (row ?? '').split('|').map((c) => c.trim());
      expect(cells[2]).toBe(check.severity);
      expect(cells[3]).toBe(check.cwe ?? '—');
    },
  );

  it('documents every flag', () => {
    for (const flag of Object.keys(auditCommand.flags))
      expect(doc).toMatch(new RegExp(`\\| \`--${flag}[=\`]`));
  });

  it('is linked from the README, with the command in the tour', () => {
    const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
    expect(readme).toContain('[docs/audit.md](docs/audit.md)');
    expect(readme).toContain('node scripts/websocket-security-audit.js');
  });
});
