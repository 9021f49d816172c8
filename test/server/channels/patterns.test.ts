import { describe, expect, it } from 'vitest';
import { createPatterns } from '../../../src/server/channels/patterns.js';
import { WsgConfigError } from '../../../src/server/index.js';

const cfg = (tag: string, params?: Record<string, RegExp>) => (params ? { tag, params } : { tag });

describe('channel patterns', () => {
  const p = createPatterns({
    'room:{name}': cfg('room', { name: /[a-z0-9-]{1,32}/ }),
    'room:staff': cfg('staff'),
    'user:{id}': cfg('user'),
    'org:{org}:team:{team}': cfg('team'),
  });

  it('the exact name beats a pattern; parameters are named', () => {
    expect(p.match('room:staff')).toMatchObject({
      pattern: 'room:staff',
      params: {},
      config: { tag: 'staff' },
    });
    expect(p.match('room:general')).toMatchObject({ pattern: 'room:{name}', params: { name: 'general' } });
    expect(p.match('org:acme:team:ops')?.params).toEqual({ org: 'acme', team: 'ops' });
  });

  it.each([
    'room:../x',
    'room:General',
    'room:{name}',
    `room:${'a'.repeat(124)}`,
    'room:généra',
    'user:a:b',
    'user:',
    ':x',
    'nope:x',
    'room:a b',
    '',
    'room:*',
  ])('%s matches nothing', (name) => {
    expect(p.match(name)).toBeUndefined();
  });

  it('a name of 128 characters is a name; 129 is not', () => {
    const q = createPatterns({ 'x:{id}': cfg('x') });
    expect(q.match(`x:${'a'.repeat(126)}`)).toBeDefined();
    expect(q.match(`x:${'a'.repeat(127)}`)).toBeUndefined();
  });

  it('parameters cannot reach the prototype', () => {
    const q = createPatterns({ 'x:{__proto__}': cfg('x') });
    const m = q.match('x:polluted');
    expect(Object.getPrototypeOf(m?.params)).toBeNull();
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it.each([
    ['no namespace', { 'room{name}': cfg('x') }],
    ['a slash', { 'room:a/{name}': cfg('x') }],
    ['a repeated parameter', { 'a:{x}:{x}': cfg('x') }],
    ['a constraint for no parameter', { 'a:{x}': cfg('x', { y: /a/ }) }],
    ['two patterns for the same names', { 'a:{x}': cfg('1'), 'a:{y}': cfg('2') }],
  ])('%s is a setup error', (_n, declared) => {
    expect(() => createPatterns(declared as Record<string, { params?: Record<string, RegExp> }>)).toThrow(
      WsgConfigError,
    );
  });
});
