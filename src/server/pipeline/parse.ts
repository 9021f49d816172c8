import { WsgError } from '../errors.js';

export interface SafeParseOptions {
  /** Deepest nesting accepted. */
  maxDepth: number;
  /** Most object keys plus array items in one document. */
  maxKeys: number;
}

/**
 * JSON.parse plus one walk that refuses `__proto__` keys, `constructor.prototype`, too deep
 * nesting and too many keys. secure-json-parse covers only the first two and scans again for
 * each; one walk here covers all four, bounded by maxDepth so it cannot overflow the stack.
 * Returns the value or a WsgError (never throws).
 */
export function createSafeParse(options: SafeParseOptions): (text: string) => unknown {
  const { maxDepth, maxKeys } = options;
  // A text this short cannot nest deeper than maxDepth nor hold more than maxKeys entries,
  // and cannot spell a forbidden key, so the walk is skipped.
  const trivialLength = Math.min(maxDepth * 2, maxKeys * 2, 9);

  return (text) => {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      return new WsgError('WSG_INVALID_JSON');
    }
    if (text.length <= trivialLength || typeof value !== 'object' || value === null) return value;
    let keys = 0;
    // Iterative walk: a stack of [node, depth] pairs.
    const stack: unknown[] = [value, 1];
    while (stack.length > 0) {
      const depth = stack.pop() as number;
      const node = stack.pop() as object;
      if (depth > maxDepth) return new WsgError('WSG_UNSAFE_JSON', { detail: 'depth' });
      if (Array.isArray(node)) {
        keys += node.length;
        if (keys > maxKeys) return new WsgError('WSG_UNSAFE_JSON', { detail: 'keys' });
        for (let i = 0; i < node.length; i++) {
          const v = node[i];
          if (typeof v === 'object' && v !== null) stack.push(v, depth + 1);
        }
        continue;
      }
      for (const k in node) {
        keys++;
        if (k === '__proto__') return new WsgError('WSG_UNSAFE_JSON', { detail: '__proto__' });
        const v = (node as Record<string, unknown>)[k];
        if (k === 'constructor' && typeof v === 'object' && v !== null && Object.hasOwn(v, 'prototype')) {
          return new WsgError('WSG_UNSAFE_JSON', { detail: 'constructor.prototype' });
        }
        if (typeof v === 'object' && v !== null) stack.push(v, depth + 1);
      }
      if (keys > maxKeys) return new WsgError('WSG_UNSAFE_JSON', { detail: 'keys' });
    }
    return value;
  };
}
