import { describe, expect, it } from 'vitest';
import { MESSAGE_ID_PATTERN } from '../../../src/protocol/index.js';
import {
  appMessageSchema,
  authMessageSchema,
  pingMessageSchema,
  refreshMessageSchema,
} from '../../../src/protocol/schemas.js';
import { WsgError } from '../../../src/server/errors.js';
import { createEnvelopeReader, isMessageId, readEnvelope } from '../../../src/server/pipeline/envelope.js';

// The hot-path envelope check and the protocol's Zod schemas must agree on every message.
const schemaAccepts = (m: unknown) =>
  [authMessageSchema, refreshMessageSchema, pingMessageSchema, appMessageSchema].some(
    (s) => s.safeParse(m).success,
  );

const table: unknown[] = [
  { type: 'auth', token: 'abc' },
  { type: 'auth', token: '' },
  { type: 'auth', token: 1 },
  { type: 'auth', token: 'abc', extra: 1 },
  { type: 'refresh', token: 'abc' },
  { type: 'ping', ts: 12.5 },
  { type: 'ping', ts: '1' },
  { type: 'ping' },
  { type: 'chat', id: 'm-1', payload: { text: 'hi' }, csrf: 'c' },
  { type: 'chat' },
  { type: 'chat', payload: null },
  { type: 'chat', id: '' },
  { type: 'chat', id: 'x'.repeat(64) },
  { type: 'chat', id: 'x'.repeat(65) },
  { type: 'chat', id: 'has space' },
  { type: 'chat', id: 5 },
  { type: 'chat', csrf: 5 },
  { type: 'chat', admin: true },
  { type: 'ack', id: '1' },
  { type: 'error', code: 'x' },
  { type: 'auth_ok' },
  { type: 'session_expiring' },
  { type: '1chat' },
  { type: 'a'.repeat(64) },
  { type: 'a'.repeat(65) },
  { type: 'ns:chat.v2-x_y' },
  { type: '<script>' },
  { type: 7 },
  {},
  [],
  'chat',
  null,
];

describe('envelope check', () => {
  it.each(table.map((m) => [JSON.stringify(m), m]))('agrees with the protocol schemas on %s', (_s, m) => {
    expect(!(readEnvelope(m) instanceof WsgError)).toBe(schemaAccepts(m));
  });

  it('reads control and application messages', () => {
    expect(readEnvelope({ type: 'ping', ts: 3 })).toEqual({ kind: 'ping', ts: 3 });
    expect(readEnvelope({ type: 'chat', id: 'a', payload: 1, csrf: 'c' })).toEqual({
      kind: 'app',
      type: 'chat',
      id: 'a',
      payload: 1,
      csrf: 'c',
    });
  });
});

describe('isMessageId', () => {
  it('agrees with MESSAGE_ID_PATTERN', () => {
    const ids = [
      '',
      'a',
      '!',
      '~',
      ' ',
      '\x7f',
      'a\n',
      '\na',
      'a b',
      'é',
      '😀',
      '\u0000',
      'x'.repeat(63),
      'x'.repeat(64),
      'x'.repeat(65),
      `${'x'.repeat(63)}\x7f`,
    ];
    for (let c = 0; c < 0x110; c++) ids.push(String.fromCharCode(c), `id-${String.fromCharCode(c)}`);
    for (const id of ids) expect([id, isMessageId(id)]).toEqual([id, MESSAGE_ID_PATTERN.test(id)]);
  });
});

describe('createEnvelopeReader', () => {
  // Declared names as an application may pass them, valid or not: invalid ones must change nothing.
  const declared = [
    'chat',
    'ns:chat.v2-x_y',
    'subscribe',
    'publish',
    'ack',
    'auth',
    '1chat',
    '<script>',
    'a'.repeat(65),
  ];
  const read = createEnvelopeReader(declared);
  const more: unknown[] = [
    ...table,
    { type: 'subscribe', id: 's-1', channel: 'room:1', csrf: 'c' },
    { type: 'subscribe', id: 's-1', channel: 'room:1', payload: 1 },
    { type: 'publish', id: 'p-1', channel: 'room:1', event: 'say', payload: { a: 1 } },
    { type: 'ack', id: 'x', payload: 1 },
    { type: 'chat', id: 'a', payload: 1, csrf: 'x'.repeat(257) },
    { type: 'chat', id: 'a', payload: 1, extra: 2 },
    { type: '1chat', id: 'a' },
    { type: '<script>', id: 'a' },
    { type: 'a'.repeat(65), id: 'a' },
  ];
  it.each(more.map((m) => [JSON.stringify(m), m]))('answers as readEnvelope on %s', (_s, m) => {
    const a = readEnvelope(m);
    const b = read(m);
    if (a instanceof WsgError) {
      expect(b).toBe(a);
    } else expect(b).toEqual(a);
  });
});
