import { APP_TYPE_PATTERN, isReservedType } from '../../protocol/index.js';
import { WsgError } from '../errors.js';

export type Envelope =
  | { kind: 'auth'; token: string }
  | { kind: 'refresh'; token: string }
  | { kind: 'ping'; ts: number }
  | { kind: 'app'; type: string; id: string | undefined; payload: unknown; csrf: string | undefined };

const MAX_TOKEN = 8192;

/**
 * The envelope's refusals, one shared value per detail: they are immutable, and building a
 * WsgError (an Error) was most of what a malformed message cost.
 */
const invalid = (detail: string) => new WsgError('WSG_INVALID_MESSAGE', { detail });
const REFUSED = {
  notObject: invalid('not an object'),
  type: invalid('type'),
  auth: invalid('auth'),
  refresh: invalid('refresh'),
  ping: invalid('ping'),
  extraKey: invalid('extra key'),
  id: invalid('id'),
  csrf: invalid('csrf'),
  channel: invalid('channel'),
  event: invalid('event'),
  since: invalid('since'),
  reserved: invalid('reserved type'),
  typeName: invalid('type name'),
} as const;

/** The refusal of `{"type":"ping"}` without a `ts` (connection.ts answers those bytes without parsing). */
export const PING_REFUSAL: WsgError = REFUSED.ping;
const MAX_CSRF = 256;
const CHANNEL_KEYS: Record<string, ReadonlySet<string>> = {
  subscribe: new Set(['id', 'type', 'channel', 'csrf', 'since']),
  unsubscribe: new Set(['id', 'type', 'channel', 'csrf']),
  publish: new Set(['id', 'type', 'channel', 'event', 'payload', 'csrf']),
};

/** subscribe, unsubscribe, publish: read by the envelope, validated and handled by the channels. */
export function isChannelControl(type: string): boolean {
  return Object.hasOwn(CHANNEL_KEYS, type);
}

/** What the envelope reads out of a subscribe, unsubscribe or publish, as the message's payload. */
export interface ChannelRequest {
  channel: string;
  event?: string;
  payload?: unknown;
  since?: { epoch: string; offset: number };
}

function isPosition(v: unknown): v is { epoch: string; offset: number } {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const { epoch, offset } = v as Record<string, unknown>;
  return (
    typeof epoch === 'string' &&
    epoch.length <= 64 &&
    Number.isSafeInteger(offset) &&
    (offset as number) >= 0 &&
    onlyKeys(v as Record<string, unknown>, ['epoch', 'offset'])
  );
}

/**
 * Channel control messages have the application message's shape (id and csrf required, acked or
 * refused by id): they go through CSRF, rate limits and the penalty ladder like any message. The
 * channel name itself is judged later (WSG_UNKNOWN_CHANNEL), where the patterns are known.
 */
function readChannelMessage(type: string, o: Record<string, unknown>): Envelope | WsgError {
  const keys = CHANNEL_KEYS[type] as ReadonlySet<string>;
  for (const k in o) if (!keys.has(k)) return REFUSED.extraKey;
  const { id, csrf, channel, event, since } = o;
  if (typeof id !== 'string' || !isMessageId(id)) {
    return REFUSED.id;
  }
  if (csrf !== undefined && (typeof csrf !== 'string' || csrf.length > MAX_CSRF)) {
    return REFUSED.csrf;
  }
  if (typeof channel !== 'string' || channel.length === 0) {
    return REFUSED.channel;
  }
  const request: ChannelRequest = { channel };
  if (type === 'publish') {
    if (typeof event !== 'string' || !APP_TYPE_PATTERN.test(event)) {
      return REFUSED.event;
    }
    request.event = event;
    request.payload = o.payload;
  } else if (since !== undefined) {
    if (!isPosition(since)) return REFUSED.since;
    request.since = since;
  }
  return { kind: 'app', type, id, payload: request, csrf };
}

function onlyKeys(o: Record<string, unknown>, allowed: readonly string[]): boolean {
  for (const k in o) if (!allowed.includes(k)) return false;
  return true;
}

/**
 * MESSAGE_ID_PATTERN (1 to 64 characters, each 0x21-0x7e) as a loop: the regex engine cost more
 * than the rest of an application message's envelope check together.
 */
export function isMessageId(id: string): boolean {
  const n = id.length;
  if (n === 0 || n > 64) return false;
  for (let i = 0; i < n; i++) {
    const c = id.charCodeAt(i);
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

/**
 * The envelope check, hand-written for the hot path; src/protocol/schemas.ts holds the same
 * rules as Zod schemas and a test keeps them in agreement.
 */
export function readEnvelope(value: unknown): Envelope | WsgError {
  return read(value, NONE_DECLARED);
}

const NONE_DECLARED: ReadonlySet<string> = new Set();

/**
 * readEnvelope for a server whose application declared `types`: a message of one of those skips
 * the type name's checks (channel name, reserved name, APP_TYPE_PATTERN), which a declared
 * type passed already. Only names that pass them are taken, so the answers are the same.
 */
export function createEnvelopeReader(types: Iterable<string>): (value: unknown) => Envelope | WsgError {
  const declared = new Set<string>();
  for (const t of types) {
    if (APP_TYPE_PATTERN.test(t) && !isReservedType(t) && !Object.hasOwn(CHANNEL_KEYS, t)) declared.add(t);
  }
  return (value) => read(value, declared);
}

function read(value: unknown, declared: ReadonlySet<string>): Envelope | WsgError {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return REFUSED.notObject;
  }
  const o = value as Record<string, unknown>;
  const type = o.type;
  if (typeof type !== 'string') return REFUSED.type;
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
        return REFUSED[type];
      }
      return { kind: type, token };
    }
    case 'ping': {
      const ts = o.ts;
      if (typeof ts !== 'number' || !Number.isFinite(ts) || !onlyKeys(o, ['type', 'ts'])) {
        return REFUSED.ping;
      }
      return { kind: 'ping', ts };
    }
  }
  if (!declared.has(type)) {
    if (Object.hasOwn(CHANNEL_KEYS, type)) return readChannelMessage(type, o);
    if (isReservedType(type)) return REFUSED.reserved;
    if (!APP_TYPE_PATTERN.test(type)) return REFUSED.typeName;
  }
  const { id, csrf } = o;
  if (id !== undefined && (typeof id !== 'string' || !isMessageId(id))) {
    return REFUSED.id;
  }
  if (csrf !== undefined && (typeof csrf !== 'string' || csrf.length > MAX_CSRF)) {
    return REFUSED.csrf;
  }
  // Compared one by one: the names are interned strings, a Set lookup per key cost more.
  for (const k in o) {
    if (k !== 'id' && k !== 'type' && k !== 'payload' && k !== 'csrf') return REFUSED.extraKey;
  }
  return { kind: 'app', type, id, payload: o.payload, csrf };
}
