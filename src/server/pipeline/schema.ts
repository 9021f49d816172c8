import { z } from 'zod';
import { WsgError } from '../errors.js';
import type { MessageSchemas } from '../options.js';
import type { Stage } from './types.js';

const MAX_CACHED_REFUSALS = 256;

/** Per-type Zod validation; replaces the payload with the parsed (stripped, coerced) value. */
export function createSchemaStage(messages: MessageSchemas, binaryType: string | undefined): Stage {
  const schemas = new Map(Object.entries(messages));
  // Refusals are immutable values, so one per distinct detail can be shared: a flood of the
  // same invalid message then builds no error at all. Bounded: a flood of distinct ones only
  // refills it.
  const refusals = new Map<string, WsgError>();
  const refusal = (detail: string) => {
    let e = refusals.get(detail);
    if (e === undefined) {
      if (refusals.size >= MAX_CACHED_REFUSALS) refusals.clear();
      e = new WsgError('WSG_VALIDATION_FAILED', { detail });
      refusals.set(detail, e);
    }
    return e;
  };
  return (m) => {
    if (m.isBinary) return m.type === binaryType ? undefined : new WsgError('WSG_BINARY_NOT_ALLOWED');
    const schema = schemas.get(m.type);
    if (!schema) return new WsgError('WSG_UNKNOWN_TYPE', { detail: m.type });
    const r = check(schema, m.payload);
    if (r.issues.length > 0) {
      return refusal(r.issues.map((i) => `${(i.path ?? []).join('.')}:${i.code}`).join(','));
    }
    m.payload = r.value;
    return undefined;
  };
}

/**
 * What `safeParse` decides, without what it adds on failure: a ZodError, and a localised
 * message per issue. The log detail needs each issue's path and code only, and a flood of
 * invalid messages then costs about what valid ones do. Runs the schema through Zod 4's core
 * entry (`_zod.run`, the one safeParse calls), and throws for an async schema as safeParse does.
 */
function check(
  schema: z.ZodType,
  value: unknown,
): { value: unknown; issues: readonly z.core.$ZodRawIssue[] } {
  const r = schema._zod.run({ value, issues: [] }, { async: false });
  if (r instanceof Promise) {
    r.catch(() => {});
    throw new z.core.$ZodAsyncError();
  }
  return r;
}
