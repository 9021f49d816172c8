import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { z as z3 } from 'zod/v3';
import { WsgConfigError, WsgError } from '../../../src/server/errors.js';
import { createSchemaStage } from '../../../src/server/pipeline/schema.js';
import type { MessageContext } from '../../../src/server/pipeline/types.js';

// The schema stage runs Zod's core entry instead of safeParse (no ZodError on a refusal): it
// must accept, refuse and transform exactly as safeParse does.
const conn = {
  connectionId: 'c',
  ip: '127.0.0.1',
  user: { id: 'u' },
  sessionId: 's',
  csrfToken: 't',
  rate: undefined,
  anomaly: undefined,
  strikes: undefined,
};
const message = (type: string, payload: unknown, isBinary = false): MessageContext => ({
  conn,
  bytes: 10,
  isBinary,
  type,
  id: '1',
  payload,
  csrf: undefined,
});

const schemas = {
  echo: z.object({ n: z.number(), data: z.string() }),
  nested: z.object({ a: z.object({ b: z.array(z.number().int()) }) }),
  text: z.string().min(2).max(5),
  coerced: z.object({ n: z.coerce.number(), tag: z.string().trim().toLowerCase() }),
  refined: z.number().refine((n) => n % 2 === 0, 'even'),
  strict: z.strictObject({ x: z.literal('y') }),
  union: z.union([z.object({ kind: z.literal('a') }), z.object({ kind: z.literal('b'), v: z.number() })]),
  defaulted: z.object({ n: z.number().default(7) }),
};
const stage = createSchemaStage(schemas, 'blob');

const cases: [keyof typeof schemas, unknown][] = [
  ['echo', { n: 1, data: 'x' }],
  ['echo', { n: 1, data: 'x', extra: true }],
  ['echo', { n: 'bad', data: 'x' }],
  ['echo', { n: 'bad', data: 2 }],
  ['echo', null],
  ['echo', 'a string'],
  ['nested', { a: { b: [1, 2] } }],
  ['nested', { a: { b: [1, 2.5, 'x'] } }],
  ['nested', { a: 1 }],
  ['text', 'abc'],
  ['text', 'a'],
  ['text', 'abcdef'],
  ['text', 5],
  ['coerced', { n: '42', tag: '  HeLLo ' }],
  ['coerced', { n: 'x', tag: 1 }],
  ['refined', 4],
  ['refined', 3],
  ['strict', { x: 'y' }],
  ['strict', { x: 'y', z: 1 }],
  ['union', { kind: 'b', v: 1 }],
  ['union', { kind: 'c' }],
  ['defaulted', {}],
  ['defaulted', { n: 'x' }],
];

describe('schema stage', () => {
  it.each(cases.map(([type, payload]) => [type, JSON.stringify(payload), payload]))(
    'decides %s %s as safeParse does',
    (type, _s, payload) => {
      const m = message(type as string, structuredClone(payload));
      const r = stage(m);
      const expected = schemas[type as keyof typeof schemas].safeParse(structuredClone(payload));
      if (expected.success) {
        expect(r).toBeUndefined();
        expect(m.payload).toEqual(expected.data);
      } else {
        expect(r).toBeInstanceOf(WsgError);
        const e = r as WsgError;
        expect(e.code).toBe('WSG_VALIDATION_FAILED');
        // The log detail: each issue's path and code, as it was built from the ZodError.
        expect(e.detail).toBe(expected.error.issues.map((i) => `${i.path.join('.')}:${i.code}`).join(','));
      }
    },
  );

  it('names the path of a nested refusal in the detail', () => {
    const r = stage(message('nested', { a: { b: [1, 'x'] } })) as WsgError;
    expect(r.detail).toBe('a.b.1:invalid_type');
  });

  it('shares one refusal per distinct detail (a flood of one bad message builds one error)', () => {
    const s = createSchemaStage(schemas, undefined);
    const a = s(message('echo', { n: 'bad', data: 'x' })) as WsgError;
    const b = s(message('echo', { n: 'worse', data: 'y' })) as WsgError;
    const c = s(message('echo', { n: 1, data: 2 })) as WsgError;
    expect(b).toBe(a);
    expect(c).not.toBe(a);
    expect([a.detail, c.detail]).toEqual(['n:invalid_type', 'data:invalid_type']);
    // Bounded: many distinct details do not grow it without limit, and still answer right.
    for (let i = 0; i < 1000; i++) {
      const r = s(
        message('nested', { a: { b: Array.from({ length: i + 1 }, (_, k) => (k === i ? 'x' : k)) } }),
      );
      expect((r as WsgError).detail).toBe(`a.b.${i}:invalid_type`);
    }
  });

  it('refuses unknown types and binary frames of another type', () => {
    expect((stage(message('nope', {})) as WsgError).code).toBe('WSG_UNKNOWN_TYPE');
    expect((stage(message('echo', Buffer.from('x'), true)) as WsgError).code).toBe('WSG_BINARY_NOT_ALLOWED');
    expect(stage(message('blob', Buffer.from('x'), true))).toBeUndefined();
  });

  it('runs a schema with an async refinement as safeParseAsync does', async () => {
    const asyncStage = createSchemaStage(
      {
        slow: z
          .string()
          .refine(async (s) => s === 'ok')
          .transform((s) => s.toUpperCase()),
      },
      undefined,
    );
    const good = message('slow', 'ok');
    expect(await asyncStage(good)).toBeUndefined();
    expect(good.payload).toBe('OK');
    expect(((await asyncStage(message('slow', 'no'))) as WsgError).code).toBe('WSG_VALIDATION_FAILED');
  });

  it('answers WSG_INTERNAL, never throws, when a schema throws (sync or async)', async () => {
    const broken = createSchemaStage(
      {
        boom: z.string().refine(() => {
          throw new Error('bug in app code');
        }),
        later: z.string().refine(async () => {
          throw new Error('async bug');
        }),
      },
      undefined,
    );
    expect((broken(message('boom', 'x')) as WsgError).code).toBe('WSG_INTERNAL');
    expect(((await broken(message('later', 'x'))) as WsgError).code).toBe('WSG_INTERNAL');
  });

  it('refuses a Zod 3 schema at setup', () => {
    expect(() => createSchemaStage({ old: z3.string() as never }, undefined)).toThrow(WsgConfigError);
  });

  it("caps the refusal detail (the paths hold the sender's keys)", () => {
    const wide = createSchemaStage({ rec: z.record(z.string(), z.number()) }, undefined);
    const payload = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`${'k'.repeat(50)}${i}`, 'x']));
    const r = wide(message('rec', payload)) as WsgError;
    expect(r.code).toBe('WSG_VALIDATION_FAILED');
    expect(String(r.detail).length).toBeLessThanOrEqual(256);
  });

  it('builds refusals without a stack trace (they are returned, never thrown)', () => {
    const r = stage(message('echo', { n: 'bad', data: 'x' })) as WsgError;
    expect(r).toBeInstanceOf(Error);
    expect(r.message).toBeTruthy();
    expect(r.stack?.split('\n')).toHaveLength(1);
    // Only the refusal's own construction is affected.
    expect(new Error('x').stack?.split('\n').length).toBeGreaterThan(1);
  });
});
