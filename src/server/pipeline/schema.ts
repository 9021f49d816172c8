import type { z } from 'zod';
import { WsgConfigError, WsgError } from '../errors.js';
import type { MessageSchemas } from '../options.js';
import { isChannelControl } from './envelope.js';
import type { StandardSchemaV1 } from './standard-schema.js';
import type { MessageContext, Stage, StageResult } from './types.js';
import { zodCheck } from './zod-check.js';

const MAX_CACHED_REFUSALS = 256;

/**
 * Per-type validation with any Standard Schema validator; replaces the payload with the
 * validated (stripped, coerced) value.
 */
export function createSchemaStage(messages: MessageSchemas, binaryType: string | undefined): Stage {
  const schemas = new Map<string, Check>();
  // Anything else would fail on the first message, not here.
  for (const [type, schema] of Object.entries(messages)) schemas.set(type, checker(type, schema));
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
    const check = schemas.get(m.type);
    if (!check) {
      if (isChannelControl(m.type)) return undefined;
      return new WsgError('WSG_UNKNOWN_TYPE', { detail: m.type });
    }
    let r: CheckResult | Promise<CheckResult>;
    try {
      r = check(m.payload);
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

type Issue = { path?: readonly PropertyKey[] | undefined; code: string };
type CheckResult = { value: unknown; issues: readonly Issue[] };
type Check = (value: unknown) => CheckResult | Promise<CheckResult>;

function checker(type: string, schema: unknown): Check {
  const s = schema as {
    _zod?: { run?: unknown };
    _def?: unknown;
    safeParse?: unknown;
    '~standard'?: { version?: unknown; validate?: unknown };
  } | null;
  if (typeof s?._zod?.run === 'function') return zodCheck(schema as z.ZodType);
  // Zod 3 implements Standard Schema too, but is refused by name: its schemas come from
  // 'zod' on zod@3 and from 'zod/v3' on zod@4, and the fix depends on which.
  if (s !== null && typeof s === 'object' && s._def !== undefined && typeof s.safeParse === 'function')
    throw new WsgConfigError(
      'WSG_CONFIG_INVALID_SCHEMA',
      `messages.${type} is a Zod 3 schema; wsguard takes Zod 4 (or any Standard Schema validator). ` +
        "With zod@3.25 or later, import { z } from 'zod/v4'; with zod@4, import { z } from 'zod' (not 'zod/v3'); or upgrade: npm install zod@4",
    );
  const std = s?.['~standard'];
  if (std?.version === 1 && typeof std.validate === 'function')
    return standardCheck(std.validate as StandardSchemaV1.Props['validate']);
  throw new WsgConfigError(
    'WSG_CONFIG_INVALID_SCHEMA',
    `messages.${type} must be a schema implementing Standard Schema v1 (Zod 4, Valibot >= 1, ArkType >= 2), got ${schema === null ? 'null' : typeof schema}`,
  );
}

/** Other validators: the issue's message stands in for a code, cut short (it may quote the payload). */
function standardCheck(validate: StandardSchemaV1.Props['validate']): Check {
  const convert = (r: StandardSchemaV1.Result<unknown>): CheckResult =>
    r.issues === undefined
      ? { value: r.value, issues: [] }
      : {
          value: undefined,
          issues: r.issues.map((i) => ({
            path: i.path?.map((p) => (typeof p === 'object' && p !== null ? p.key : p)),
            code: String(i.message).slice(0, 40),
          })),
        };
  return (value) => {
    const r = validate(value);
    return r instanceof Promise ? r.then(convert) : convert(r);
  };
}
