import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import * as client from 'wsguard/client';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** Every module specifier a file imports or re-exports, static and literal dynamic. */
function specifiers(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^'"]*?from\s*['"]([^'"]+)['"]/g))
    out.push(m[1] as string);
  for (const m of text.matchAll(/\bimport\(\s*(?:\/\*.*?\*\/\s*)?['"]([^'"]+)['"]\s*\)/g))
    out.push(m[1] as string);
  return out;
}

describe('wsguard/client', () => {
  it('exports the class, the typed errors and the helpers', () => {
    for (const name of [
      'SecureWebSocket',
      'AuthError',
      'ServerError',
      'AckTimeoutError',
      'QueueOverflowError',
      'MessageExpiredError',
      'ClosedError',
      'ConnectionError',
      'InvalidMessageError',
      'SecureWebSocketError',
      'backoffDelay',
      'closeAction',
      'CLOSE_POLICY',
      'readJwtExpiry',
    ]) {
      expect(client, name).toHaveProperty(name);
    }
    expect(new client.ServerError('WSG_RATE_LIMITED', 'Rate limited', 100)).toBeInstanceOf(
      client.SecureWebSocketError,
    );
  });

  it('the browser path imports no Node module, no ws, no zod: only relative files in src/client and src/protocol', () => {
    const seen = new Set<string>();
    const queue = readdirSync(join(root, 'src/client')).map((f) => join(root, 'src/client', f));
    while (queue.length > 0) {
      const file = queue.pop() as string;
      if (seen.has(file)) continue;
      seen.add(file);
      for (const spec of specifiers(file)) {
        expect(spec.startsWith('.'), `${relative(root, file)} imports ${spec}`).toBe(true);
        const target = resolve(dirname(file), spec.replace(/\.js$/, '.ts'));
        expect(relative(root, target)).toMatch(/^src\/(client|protocol)\/[\w-]+\.ts$/);
        expect(target.endsWith('schemas.ts'), `${relative(root, file)} pulls zod through schemas.ts`).toBe(
          false,
        );
        queue.push(target);
      }
    }
    expect(seen.size).toBeGreaterThan(10);
    // `ws` is only reachable through a variable specifier, so bundlers leave it out.
    const transport = readFileSync(join(root, 'src/client/transport.ts'), 'utf8');
    expect(transport).toMatch(/const name = 'ws';/);
    expect(transport).toMatch(/await import\(\/\* @vite-ignore \*\/ name\)/);
  });
});
