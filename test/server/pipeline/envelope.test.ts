import { describe, expect, it } from 'vitest';
import {
  appMessageSchema,
  authMessageSchema,
  pingMessageSchema,
  refreshMessageSchema,
} from '../../../src/protocol/schemas.js';
import { WsgError } from '../../../src/server/errors.js';
import { readEnvelope } from '../../../src/server/pipeline/envelope.js';

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
