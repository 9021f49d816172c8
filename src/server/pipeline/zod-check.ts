import type { z } from 'zod';

/** What a check returns: the validated value and the raw issues (path and code are read). */
export type ZodCheckResult = {
  value: unknown;
  issues: readonly { path?: readonly PropertyKey[]; code: string }[];
};
export type ZodCheck = (value: unknown) => ZodCheckResult | Promise<ZodCheckResult>;

type Def = { type?: string; checks?: readonly { _zod?: { def?: { check?: string } } }[] } & Record<
  string,
  unknown
>;
type Node = { _zod?: { def?: Def } };

/** Node types whose own parse is synchronous; their children are walked. */
const LEAVES = new Set([
  'string',
  'number',
  'boolean',
  'bigint',
  'null',
  'undefined',
  'void',
  'never',
  'any',
  'unknown',
  'literal',
  'enum',
  'nan',
  'date',
  'symbol',
]);
const WRAPPERS = new Set(['optional', 'nullable', 'readonly', 'nonoptional', 'default', 'prefault']);
/** Checks Zod itself implements (no user function that could return a promise). */
const PURE_CHECKS = new Set([
  'less_than',
  'greater_than',
  'multiple_of',
  'number_format',
  'bigint_format',
  'max_size',
  'min_size',
  'size_equals',
  'max_length',
  'min_length',
  'length_equals',
  'string_format',
  'lowercase',
  'uppercase',
  'includes',
  'starts_with',
  'ends_with',
  'overwrite',
]);

/**
 * True when nothing in the schema can answer with a promise: only built-in types and checks, no
 * refine, transform, pipe, lazy, promise or custom type anywhere. Anything unknown says false,
 * so a schema is run synchronously only when that is certain.
 */
export function isSyncOnly(schema: unknown, seen = new Set<unknown>()): boolean {
  if (seen.has(schema)) return true;
  seen.add(schema);
  const def = (schema as Node | null)?._zod?.def;
  if (def === undefined || typeof def.type !== 'string') return false;
  for (const c of def.checks ?? []) if (!PURE_CHECKS.has(c._zod?.def?.check as string)) return false;
  const child = (s: unknown) => isSyncOnly(s, seen);
  const t = def.type;
  if (LEAVES.has(t)) return true;
  if (WRAPPERS.has(t)) return child(def.innerType);
  switch (t) {
    case 'object': {
      const shape = def.shape as Record<string, unknown> | undefined;
      if (shape === undefined || typeof shape !== 'object') return false;
      if (Object.getOwnPropertySymbols(shape).length > 0) return false;
      if (!Object.values(shape).every(child)) return false;
      return def.catchall === undefined || child(def.catchall);
    }
    case 'array':
      return child(def.element);
    case 'tuple':
      return (
        Array.isArray(def.items) &&
        def.items.every(child) &&
        (def.rest === null || def.rest === undefined || child(def.rest))
      );
    case 'union':
      return Array.isArray(def.options) && def.options.every(child);
    case 'intersection':
      return child(def.left) && child(def.right);
    case 'record':
      return child(def.keyType) && child(def.valueType);
    default:
      return false;
  }
}

/** Zod reads its context, never writes it: one each, not one per message. */
const SYNC = { async: false } as const;
const ASYNC = { async: true } as const;

/** isSyncOnly, and false if reading the schema throws (a getter in a shape, read before its time). */
function syncOnly(schema: unknown): boolean {
  try {
    return isSyncOnly(schema);
  } catch {
    return false;
  }
}

const isAsyncError = (err: unknown) => err instanceof Error && err.constructor.name === '$ZodAsyncError';

/**
 * What `safeParseAsync` decides, without what it adds on failure: a ZodError, and a localised
 * message per issue. The log detail needs each issue's path and code only, and a flood of
 * invalid messages then costs about what valid ones do. Runs the schema through Zod 4's core
 * entry (`_zod.run`, the one the parse functions call). A schema with nothing async in it
 * (isSyncOnly) runs in sync mode, where Zod uses its generated object parser (its "jit", some
 * 5x faster for a flat object); any other schema runs in async mode, which answers
 * synchronously when nothing async was met and with a promise otherwise.
 */
export function zodCheck(schema: z.ZodType): ZodCheck {
  const run = (value: unknown, async: boolean) =>
    schema._zod.run({ value, issues: [] }, async ? ASYNC : SYNC) as ZodCheckResult | Promise<ZodCheckResult>;
  if (!syncOnly(schema)) return (value) => run(value, true);
  let sync = true;
  return (value) => {
    if (!sync) return run(value, true);
    try {
      return run(value, false);
    } catch (err) {
      // Only if the walk above let an async part through (it lists what it allows, so it should not).
      if (!isAsyncError(err)) throw err;
      sync = false;
      return run(value, true);
    }
  };
}
