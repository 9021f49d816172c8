import { WsgError } from '../errors.js';
import type { MessageSchemas } from '../options.js';
import type { Stage } from './types.js';

/** Per-type Zod validation; replaces the payload with the parsed (stripped, coerced) value. */
export function createSchemaStage(messages: MessageSchemas, binaryType: string | undefined): Stage {
  const schemas = new Map(Object.entries(messages));
  return (m) => {
    if (m.isBinary) return m.type === binaryType ? undefined : new WsgError('WSG_BINARY_NOT_ALLOWED');
    const schema = schemas.get(m.type);
    if (!schema) return new WsgError('WSG_UNKNOWN_TYPE', { detail: m.type });
    const r = schema.safeParse(m.payload);
    if (!r.success) {
      return new WsgError('WSG_VALIDATION_FAILED', {
        detail: r.error.issues.map((i) => `${i.path.join('.')}:${i.code}`).join(','),
      });
    }
    m.payload = r.data;
    return undefined;
  };
}
