import { describe, expect, it } from 'vitest';
import { WsgError } from '../../../src/server/errors.js';
import { createSafeParse, prescan } from '../../../src/server/pipeline/parse.js';

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

describe('prescan (nesting and entries read off the text before JSON.parse)', () => {
  /** The character loop prescan replaced: the reference for what it must decide. */
  function reference(text: string, maxDepth: number, maxKeys: number): string | undefined {
    let depth = 0;
    let commas = 0;
    let inString = false;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (inString) {
        if (c === 92) i++;
        else if (c === 34) inString = false;
        continue;
      }
      if (c === 34) inString = true;
      else if (c === 123 || c === 91) {
        if (++depth > maxDepth) return 'depth';
      } else if (c === 125 || c === 93) depth--;
      else if (c === 44 && ++commas > maxKeys) return 'keys';
    }
    return undefined;
  }

  const crafted = [
    `{"a":"${'x'.repeat(5000)}"}`,
    `{"a":"${'\\\\'.repeat(40)}","b":[[[[1]]]]}`,
    `{"a":"${'\\"'.repeat(40)}[[[[[[","b":1}`,
    `{"a":"${'x'.repeat(30)}\\\\\\"${'['.repeat(40)}"}`,
    `{"a":"${'x'.repeat(30)}\\\\"${'['.repeat(40)}`,
    `["${'x'.repeat(23)}\\"${'['.repeat(40)}"]`,
    `["${'x'.repeat(24)}\\"${'['.repeat(40)}"]`,
    `["${'x'.repeat(25)}\\\\","${'['.repeat(40)}"]`,
    `${'['.repeat(33)}${']'.repeat(33)}`,
    `[${'1,'.repeat(30)}1]`,
    `{"unterminated":"${'['.repeat(50)}`,
    `"${'\\'.repeat(61)}"${'['.repeat(40)}`,
    `"${'\\'.repeat(62)}"${'['.repeat(40)}`,
  ];

  it.each(crafted.map((t, i) => [i, t]))(
    'crafted text %i: the same answer as the character loop',
    (_i, text) => {
      for (const [d, k] of [
        [32, 2000],
        [4, 10],
        [1, 1],
      ] as const) {
        expect(prescan(text, d, k)).toBe(reference(text, d, k));
      }
    },
  );

  it('random texts of quotes, backslashes, brackets and commas: the same answer as the character loop', () => {
    const alphabet = ['"', '\\', '[', ']', '{', '}', ',', 'x', 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx', ':', '1'];
    let seed = 7;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    for (let run = 0; run < 3000; run++) {
      let text = '';
      const len = 1 + rand(200);
      for (let i = 0; i < len; i++) text += alphabet[rand(alphabet.length)];
      for (const [d, k] of [
        [3, 5],
        [8, 40],
      ] as const) {
        expect(prescan(text, d, k), text).toBe(reference(text, d, k));
      }
    }
  });
});
