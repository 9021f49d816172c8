import { WsgError } from '../errors.js';

export interface SafeParseOptions {
  /** Deepest nesting accepted. */
  maxDepth: number;
  /** Most object keys plus array items in one document. */
  maxKeys: number;
}

/** Shared refusals (immutable): a flood of bad frames builds no Error per frame. */
const INVALID_JSON = new WsgError('WSG_INVALID_JSON');
const UNSAFE = new Map(
  ['depth', 'keys', '__proto__', 'constructor.prototype'].map((d) => [
    d,
    new WsgError('WSG_UNSAFE_JSON', { detail: d }),
  ]),
);
const unsafe = (problem: string) =>
  UNSAFE.get(problem) ?? new WsgError('WSG_UNSAFE_JSON', { detail: problem });

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
    // Nesting and entry counts read off the text before JSON.parse builds anything: a deep or
    // wide document costs one scan of its characters, not a parse and a walk.
    if (text.length > PRESCAN_FROM) {
      const problem = prescan(text, maxDepth, maxKeys);
      if (problem !== undefined) return unsafe(problem);
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      return INVALID_JSON;
    }
    if (text.length <= trivialLength || typeof value !== 'object' || value === null) return value;
    const problem = walk(value, 1, { keys: 0 }, maxDepth, maxKeys);
    return problem === undefined ? value : unsafe(problem);
  };
}

/** Shorter texts go straight to JSON.parse: the scan would cost more than it saves. */
const PRESCAN_FROM = 256;

/**
 * Depth of brackets and count of commas outside strings. Commas undercount entries (n entries
 * have n-1), so a refusal here is always one the walk would make too. A string is skipped with
 * indexOf (native, a fast memchr) to its closing quote, which is the first quote after an even
 * run of backslashes: the text of a message is mostly strings, and a character loop over them
 * cost about 3 ns a character, more than JSON.parse itself (3 µs for a 1 KB message).
 */
/** Strings up to this many characters are read in the loop, longer ones with indexOf. */
const SHORT = 24;

/**
 * The position of the quote that closes a string whose text starts at `from`, or -1. The first
 * quote found closes it unless an odd run of backslashes precedes it; past an escaped quote
 * (rare outside hostile text) the rest is read a character at a time, as a loop of indexOf
 * calls over a string of `\"` would cost more.
 */
function closingQuote(text: string, from: number): number {
  const j = text.indexOf('"', from);
  if (j === -1) return -1;
  let k = j - 1;
  while (k >= from && text.charCodeAt(k) === 92) k--;
  if (((j - 1 - k) & 1) === 0) return j;
  for (let i = j + 1; i < text.length; i++) {
    const d = text.charCodeAt(i);
    if (d === 34) return i;
    if (d === 92) i++;
  }
  return -1;
}

export function prescan(text: string, maxDepth: number, maxKeys: number): string | undefined {
  let depth = 0;
  let commas = 0;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 34) {
      // A short string (keys, most values) is read here; a call per string would cost more.
      let j = i + 1;
      const stop = Math.min(j + SHORT, n);
      for (; j < stop; j++) {
        const d = text.charCodeAt(j);
        if (d === 34) break;
        if (d === 92) j++;
      }
      if (j >= stop) j = closingQuote(text, i + 1);
      // Unterminated: JSON.parse refuses it, and nothing after it counts.
      if (j === -1) return undefined;
      i = j;
    } else if (c === 123 || c === 91) {
      if (++depth > maxDepth) return 'depth';
    } else if (c === 125 || c === 93) depth--;
    else if (c === 44 && ++commas > maxKeys) return 'keys';
  }
  return undefined;
}

/** The walk alone, on an already parsed value (for bench:stages); what is wrong, or undefined. */
export function inspectParsed(value: unknown, maxDepth = 32, maxKeys = 2000): string | undefined {
  return typeof value === 'object' && value !== null
    ? walk(value, 1, { keys: 0 }, maxDepth, maxKeys)
    : undefined;
}

/**
 * Checks one parsed node; returns what is wrong, or undefined. Recursion is bounded by
 * maxDepth (it stops one level past it), so hostile nesting cannot overflow the stack, and
 * it allocates nothing per node, which an explicit stack did.
 */
function walk(
  node: object,
  depth: number,
  counter: { keys: number },
  maxDepth: number,
  maxKeys: number,
): string | undefined {
  if (depth > maxDepth) return 'depth';
  if (Array.isArray(node)) {
    counter.keys += node.length;
    if (counter.keys > maxKeys) return 'keys';
    for (let i = 0; i < node.length; i++) {
      const v = node[i];
      if (typeof v === 'object' && v !== null) {
        const p = walk(v, depth + 1, counter, maxDepth, maxKeys);
        if (p !== undefined) return p;
      }
    }
    return undefined;
  }
  for (const k in node) {
    if (++counter.keys > maxKeys) return 'keys';
    if (k === '__proto__') return '__proto__';
    const v = (node as Record<string, unknown>)[k];
    if (typeof v === 'object' && v !== null) {
      if (k === 'constructor' && Object.hasOwn(v, 'prototype')) return 'constructor.prototype';
      const p = walk(v, depth + 1, counter, maxDepth, maxKeys);
      if (p !== undefined) return p;
    }
  }
  return undefined;
}
