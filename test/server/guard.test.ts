import { createServer } from 'node:http';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { setupWebSockets, type WsGuardOptions, WsgConfigError } from '../../src/server/index.js';
import { TEST_SECRET } from '../helpers/server.js';

const auth = { jwt: { secret: TEST_SECRET } };

describe('options are checked at setup', () => {
  it.each<[string, Partial<WsGuardOptions>]>([
    ['no auth', { auth: undefined as never }],
    ['empty auth', { auth: {} }],
    ['a short JWT secret', { auth: { jwt: { secret: 'short' } } }],
    ['a handler without a schema', { handlers: { chat: () => 1 } }],
    ['a reserved type name', { messages: { ack: z.unknown() } }],
    ['an invalid type name', { messages: { 'bad name': z.unknown() } }],
    ['a bad trustProxy entry', { trustProxy: ['not-an-ip'] }],
    ['a relative path', { path: 'ws' }],
    ['a tiny maxPayload', { maxPayload: 10 }],
    ['a negative authTimeoutMs', { authTimeoutMs: -1 }],
    ['a zero dedupeTtlMs', { dedupeTtlMs: 0 }],
  ])('throws WsgConfigError for %s', (_name, bad) => {
    const server = createServer();
    expect(() => setupWebSockets(server, { auth, logger: false, ...bad } as WsGuardOptions)).toThrow(
      WsgConfigError,
    );
    expect(server.listenerCount('upgrade')).toBe(0);
  });
});
