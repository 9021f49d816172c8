import { describe, expect, it } from 'vitest';
import { WsgError } from '../../../src/server/errors.js';
import { createSafeParse } from '../../../src/server/pipeline/parse.js';

const parse = createSafeParse({ maxDepth: 8, maxKeys: 50 });
const code = (v: unknown) => (v instanceof WsgError ? v.code : 'ok');

describe('safe JSON parse', () => {
  it('parses ordinary documents', () => {
    expect(parse('{"type":"chat","payload":{"text":"hi","tags":["a","b"]}}')).toEqual({
      type: 'chat',
      payload: { text: 'hi', tags: ['a', 'b'] },
    });
    expect(parse('1')).toBe(1);
    expect(parse('{"constructor":"fine"}')).toEqual({ constructor: 'fine' });
    expect(parse('{"constructor":{"name":"fine"}}')).toEqual({ constructor: { name: 'fine' } });
  });

  it.each([
    ['{', 'WSG_INVALID_JSON'],
    ['', 'WSG_INVALID_JSON'],
    ['{"a":1,}', 'WSG_INVALID_JSON'],
    ['{"__proto__":{"x":1}}', 'WSG_UNSAFE_JSON'],
    ['{"a":[{"b":{"__proto__":null}}]}', 'WSG_UNSAFE_JSON'],
    ['{"constructor":{"prototype":{"x":1}}}', 'WSG_UNSAFE_JSON'],
    ['[[[[[[[[[1]]]]]]]]]', 'WSG_UNSAFE_JSON'],
    [`[${'0,'.repeat(60)}0]`, 'WSG_UNSAFE_JSON'],
    [`{${Array.from({ length: 51 }, (_, i) => `"k${i}":0`).join(',')}}`, 'WSG_UNSAFE_JSON'],
  ])('%s -> %s', (text, expected) => {
    expect(code(parse(text))).toBe(expected);
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });

  it('accepts exactly the limits', () => {
    expect(code(parse('[[[[[[[[1]]]]]]]]'))).toBe('ok');
    expect(code(parse(`[${'0,'.repeat(49)}0]`))).toBe('ok');
  });

  it('walks a 100,000-deep document without overflowing the stack', () => {
    expect(code(parse(`${'['.repeat(100_000)}${']'.repeat(100_000)}`))).toBe('WSG_UNSAFE_JSON');
  });
});
