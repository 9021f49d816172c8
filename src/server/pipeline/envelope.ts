import { APP_TYPE_PATTERN, isReservedType, MESSAGE_ID_PATTERN } from '../../protocol/index.js';
import { WsgError } from '../errors.js';

export type Envelope =
  | { kind: 'auth'; token: string }
  | { kind: 'refresh'; token: string }
  | { kind: 'ping'; ts: number }
  | { kind: 'app'; type: string; id: string | undefined; payload: unknown; csrf: string | undefined };

const MAX_TOKEN = 8192;
const MAX_CSRF = 256;
const APP_KEYS = new Set(['id', 'type', 'payload', 'csrf']);

function onlyKeys(o: Record<string, unknown>, allowed: readonly string[]): boolean {
  for (const k in o) if (!allowed.includes(k)) return false;
  return true;
}

/**
 * The envelope check, hand-written for the hot path; src/protocol/schemas.ts holds the same
 * rules as Zod schemas and a test keeps them in agreement.
 */
export function readEnvelope(value: unknown): Envelope | WsgError {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return new WsgError('WSG_INVALID_MESSAGE', { detail: 'not an object' });
  }
  const o = value as Record<string, unknown>;
  const type = o.type;
  if (typeof type !== 'string') return new WsgError('WSG_INVALID_MESSAGE', { detail: 'type' });
  switch (type) {
    case 'auth':
    case 'refresh': {
      const token = o.token;
      if (
        typeof token !== 'string' ||
        token.length === 0 ||
        token.length > MAX_TOKEN ||
        !onlyKeys(o, ['type', 'token'])
      ) {
        return new WsgError('WSG_INVALID_MESSAGE', { detail: type });
      }
      return { kind: type, token };
    }
    case 'ping': {
      const ts = o.ts;
      if (typeof ts !== 'number' || !Number.isFinite(ts) || !onlyKeys(o, ['type', 'ts'])) {
        return new WsgError('WSG_INVALID_MESSAGE', { detail: 'ping' });
      }
      return { kind: 'ping', ts };
    }
  }
  if (isReservedType(type)) return new WsgError('WSG_INVALID_MESSAGE', { detail: 'reserved type' });
  if (!APP_TYPE_PATTERN.test(type)) return new WsgError('WSG_INVALID_MESSAGE', { detail: 'type name' });
  const { id, csrf } = o;
  if (id !== undefined && (typeof id !== 'string' || !MESSAGE_ID_PATTERN.test(id))) {
    return new WsgError('WSG_INVALID_MESSAGE', { detail: 'id' });
  }
  if (csrf !== undefined && (typeof csrf !== 'string' || csrf.length > MAX_CSRF)) {
    return new WsgError('WSG_INVALID_MESSAGE', { detail: 'csrf' });
  }
  for (const k in o)
    if (!APP_KEYS.has(k)) return new WsgError('WSG_INVALID_MESSAGE', { detail: 'extra key' });
  return { kind: 'app', type, id, payload: o.payload, csrf };
}
