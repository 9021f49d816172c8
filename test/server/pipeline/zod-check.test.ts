import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { isSyncOnly, type ZodCheckResult, zodCheck } from '../../../src/server/pipeline/zod-check.js';

const syncOnly: [string, z.ZodType][] = [
  ['flat object', z.object({ n: z.number(), data: z.string() })],
  ['strict object', z.strictObject({ a: z.string().min(1).max(5) })],
  ['loose object', z.looseObject({ a: z.int().positive() })],
  ['nested and optional', z.object({ a: z.object({ b: z.array(z.string().trim()).max(3) }).optional() })],
  ['formats', z.object({ e: z.email(), u: z.uuid(), d: z.iso.datetime() })],
  ['enum, literal, union', z.union([z.literal('a'), z.enum(['b', 'c']), z.null()])],
  [
    'discriminated union',
    z.discriminatedUnion('k', [
      z.object({ k: z.literal('x') }),
      z.object({ k: z.literal('y'), n: z.number() }),
    ]),
  ],
  ['record and tuple', z.record(z.string(), z.tuple([z.number(), z.boolean()]))],
  ['defaults and nullable', z.object({ a: z.string().default('x'), b: z.number().nullable() })],
  ['unknown payload', z.unknown()],
  ['intersection', z.intersection(z.object({ a: z.string() }), z.object({ b: z.number() }))],
];

const notSyncOnly: [string, z.ZodType][] = [
  ['refine', z.object({ a: z.string() }).refine((v) => v.a !== 'x')],
  ['async refine deep inside', z.object({ a: z.array(z.string().refine(async (s) => s.length > 0)) })],
  ['transform', z.string().transform((s) => s.length)],
  ['pipe', z.string().pipe(z.coerce.number())],
  ['preprocess', z.preprocess((v) => v, z.string())],
  ['superRefine', z.number().superRefine(() => {})],
  ['lazy', z.lazy(() => z.string())],
  ['promise', z.promise(z.string())],
  ['custom', z.custom<string>((v) => typeof v === 'string')],
  ['catch', z.string().catch('x')],
];

/** Hostile and ordinary payloads, as JSON.parse would hand them over. */
const inputs: unknown[] = [
  { n: 1, data: 'x' },
  { n: '1', data: 'x' },
  { n: 1 },
  { n: 1, data: 'x', extra: true },
  JSON.parse('{"n":1,"data":"x","__proto__":{"polluted":1}}'),
  JSON.parse('{"n":1,"data":"x","constructor":{"prototype":{"polluted":1}}}'),
  { a: 'abc' },
  { a: '' },
  { a: 'abcdefgh' },
  { a: 5 },
  { a: { b: [' x ', 'y'] } },
  { a: { b: ['1', '2', '3', '4'] } },
  { e: 'a@b.co', u: '123e4567-e89b-42d3-a456-426614174000', d: '2026-12-01T10:00:00Z' },
  { e: 'nope', u: 'nope', d: 'nope' },
  'a',
  'b',
  'z',
  null,
  undefined,
  { k: 'x' },
  { k: 'y', n: 2 },
  { k: 'y' },
  { r: [1, true] },
  { r: [1, 'no'] },
  { a: null, b: null },
  { b: 1 },
  [],
  [1, 2],
  42,
  Number.NaN,
  { a: 'x', b: 1 },
];

const plain = (r: ZodCheckResult) => ({
  value: r.issues.length === 0 ? r.value : undefined,
  issues: r.issues.map((i) => `${(i.path ?? []).join('.')}:${i.code}`),
});

describe('zod check', () => {
  it.each(syncOnly)('finds %s synchronous', (_name, schema) => {
    expect(isSyncOnly(schema)).toBe(true);
  });

  it.each(notSyncOnly)('does not run %s synchronously', (_name, schema) => {
    expect(isSyncOnly(schema)).toBe(false);
  });

  it('refuses what is not a Zod 4 schema, and survives a recursive shape', () => {
    expect(isSyncOnly(null)).toBe(false);
    expect(isSyncOnly({})).toBe(false);
    const Node: z.ZodType = z.object({
      name: z.string(),
      get children() {
        return z.array(Node);
      },
    });
    expect(isSyncOnly(Node)).toBe(true);
    const check = zodCheck(Node);
    expect(
      plain(check({ name: 'a', children: [{ name: 'b', children: [] }] }) as ZodCheckResult).issues,
    ).toEqual([]);
    expect(
      plain(check({ name: 'a', children: [{ name: 1, children: [] }] }) as ZodCheckResult).issues,
    ).toEqual(['children.0.name:invalid_type']);
  });

  it.each([...syncOnly, ...notSyncOnly])(
    '%s: the same value and issues as safeParseAsync for every input',
    async (_name, schema) => {
      const check = zodCheck(schema);
      for (const input of inputs) {
        const expected = await schema.safeParseAsync(input);
        const got = plain(await check(input));
        expect(got.issues).toEqual(
          expected.success ? [] : expected.error.issues.map((i) => `${i.path.join('.')}:${i.code}`),
        );
        if (expected.success) expect(got.value).toEqual(expected.data);
        // Never a prototype pollution through the validated value.
        expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      }
    },
  );

  it('a shape whose getter throws when read is run in async mode, not refused at setup', async () => {
    let ready = false;
    const late = z.object({
      get item() {
        if (!ready) throw new ReferenceError('not yet');
        return z.string();
      },
    });
    const check = zodCheck(late);
    ready = true;
    expect(plain(await check({ item: 'x' })).issues).toEqual([]);
    expect(plain(await check({ item: 1 })).issues).toEqual(['item:invalid_type']);
  });

  it('a synchronous schema answers without a promise, an async one with one', () => {
    expect(zodCheck(syncOnly[0]?.[1] as z.ZodType)({ n: 1, data: 'x' })).not.toBeInstanceOf(Promise);
    const asyncRefine = notSyncOnly[1]?.[1] as z.ZodType;
    expect(zodCheck(asyncRefine)({ a: ['x'] })).toBeInstanceOf(Promise);
  });
});
