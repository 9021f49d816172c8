import type { z } from 'zod';
import { WsgConfigError, WsgError } from '../errors.js';
import type { MessageSchemas } from '../options.js';
import { isChannelControl } from './envelope.js';
import type { MessageContext, Stage, StageResult } from './types.js';

const MAX_CACHED_REFUSALS = 256;

/** Per-type Zod validation; replaces the payload with the parsed (stripped, coerced) value. */
export function createSchemaStage(messages: MessageSchemas, binaryType: string | undefined): Stage {
  const schemas = new Map(Object.entries(messages));
  for (const [type, schema] of schemas) {
    // A Zod 3 schema (zod/v3) or anything else would fail on the first message, not here.
    if (typeof (schema as { _zod?: { run?: unknown } })?._zod?.run !== 'function')
      throw new WsgConfigError(
        'WSG_CONFIG_INVALID_SCHEMA',
        `messages.${type} must be a Zod 4 schema (import { z } from 'zod')`,
      );
  }
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
  const finish = (m: MessageContext, r: CheckResult): StageResult => {
    if (r.issues.length > 0) {
      // Capped: the paths hold the sender's keys, and the detail is logged and cached.
      return refusal(
        r.issues
          .slice(0, 10)
          .map((i) => `${(i.path ?? []).join('.')}:${i.code}`)
          .join(',')
          .slice(0, 256),
      );
    }
    m.payload = r.value;
    return undefined;
  };
  // A schema that throws (a refine calling into broken code) is the app's failure, not the
  // sender's: the message gets WSG_INTERNAL and the socket keeps serving.
  const failed = (type: string, err: unknown) =>
    new WsgError('WSG_INTERNAL', { detail: `schema for ${type} threw: ${String(err)}` });
  return (m) => {
    if (m.isBinary) return m.type === binaryType ? undefined : new WsgError('WSG_BINARY_NOT_ALLOWED');
    const schema = schemas.get(m.type);
    if (!schema) {
      if (isChannelControl(m.type)) return undefined;
      return new WsgError('WSG_UNKNOWN_TYPE', { detail: m.type });
    }
    let r: CheckResult | Promise<CheckResult>;
    try {
      r = check(schema, m.payload);
    } catch (err) {
      return failed(m.type, err);
    }
    if (r instanceof Promise)
      return r.then(
        (x) => finish(m, x),
        (err: unknown) => failed(m.type, err),
      );
    return finish(m, r);
  };
}

type CheckResult = { value: unknown; issues: readonly z.core.$ZodRawIssue[] };

/**
 * What `safeParseAsync` decides, without what it adds on failure: a ZodError, and a localised
 * message per issue. The log detail needs each issue's path and code only, and a flood of
 * invalid messages then costs about what valid ones do. Runs the schema through Zod 4's core
 * entry (`_zod.run`, the one the parse functions call) in async mode, which answers
 * synchronously for a schema with nothing async in it, and with a promise otherwise.
 */
function check(schema: z.ZodType, value: unknown): CheckResult | Promise<CheckResult> {
  return schema._zod.run({ value, issues: [] }, { async: true });
}
