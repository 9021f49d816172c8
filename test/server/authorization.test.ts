import { createServer } from 'node:http';
import { afterEach, describe, expect, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import {
  appError,
  createJwtVerifier,
  type Principal,
  requireClaim,
  requireScope,
  type SecurityEvent,
  setupWebSockets,
  type WsGuardOptions,
  WsgConfigError,
} from '../../src/server/index.js';
import { assertNoLeak, connectAuthed } from '../helpers/peer.js';
import { signToken, startServer, TEST_SECRET, type TestServer } from '../helpers/server.js';
import { type Client, request } from './channels/helpers.js';

let srv: TestServer | undefined;
afterEach(async () => {
  await srv?.close();
  srv = undefined;
});

const messages = {
  post: z.object({ room: z.string(), text: z.string() }),
  moderate: z.object({ id: z.string() }),
  write: z.object({ text: z.string() }),
  lookup: z.object({ key: z.string() }),
  echo: z.unknown(),
};

async function serve(extra: Partial<WsGuardOptions<typeof messages>> = {}, events: SecurityEvent[] = []) {
  srv = await startServer<typeof messages>({
    messages,
    authorize: {
      post: (user, { room }) => room !== 'locked' || user.claims?.role === 'staff',
      moderate: requireClaim('role', 'staff'),
      write: requireScope('chat:write'),
      lookup: async (user) => user.id !== 'banned-reader',
    },
    handlers: {
      post: () => 'posted',
      moderate: () => 'moderated',
      write: () => 'written',
      lookup: ({ user }, { key }) => {
        if (key === 'missing') throw appError('APP_NOT_FOUND', 'No such room');
        if (key === 'boom') throw new Error('db password is hunter2 at /srv/app.js:12');
        return { key, by: user.id };
      },
      echo: (_ctx, p) => p,
    },
    onEvent: (e) => events.push(e),
    anomaly: false,
    ...extra,
  });
  return srv;
}

async function client(s: TestServer, sub: string, claims: Record<string, unknown> = {}): Promise<Client> {
  const { peer, csrf } = await connectAuthed(s.url, await signToken(sub, claims));
  return { peer, csrf };
}

const forbidden = { type: 'error', code: 'WSG_FORBIDDEN', message: 'Forbidden' };

describe('authorize per message type', () => {
  it.each([
    ['authorize refuses by payload', 'u', {}, { type: 'post', payload: { room: 'locked', text: 'hi' } }],
    ['requireClaim without the claim', 'u', { role: 'guest' }, { type: 'moderate', payload: { id: '1' } }],
    ['requireClaim with no claims at all', 'u', {}, { type: 'moderate', payload: { id: '1' } }],
    [
      'requireScope without the scope',
      'u',
      { scope: 'chat:read' },
      { type: 'write', payload: { text: 'x' } },
    ],
    ['async authorize refusing', 'banned-reader', {}, { type: 'lookup', payload: { key: 'k' } }],
  ])('%s: WSG_FORBIDDEN with the id, the socket stays open, others served', async (_n, sub, claims, msg) => {
    const s = await serve();
    const c = await client(s, sub, claims);
    const reply = await request(c, msg);
    expect(reply).toMatchObject({ ...forbidden, id: expect.any(String) });
    expect(await request(c, { type: 'echo', payload: 'still here' })).toMatchObject({ type: 'ack' });
    const other = await client(s, 'staffer', { role: 'staff', scope: 'chat:read chat:write' });
    expect(await request(other, msg)).toMatchObject({ type: 'ack' });
    assertNoLeak(c.peer.frames);
    c.peer.close();
    other.peer.close();
  });

  it('auth_ok announces the per-type limits', async () => {
    const s = await serve({ limits: { types: { post: { rate: 2, burst: 4, cost: 2 } } } });
    const { ok, peer } = await connectAuthed(s.url, await signToken('u'));
    expect(ok.limits).toMatchObject({ types: { post: { rate: 2, burst: 4, cost: 2 } } });
    peer.close();
  });

  it('requireClaim accepts an array claim; requireScope accepts scp arrays', async () => {
    const s = await serve();
    const c = await client(s, 'u', { role: ['dev', 'staff'], scp: ['chat:write'] });
    expect(await request(c, { type: 'moderate', payload: { id: '1' } })).toMatchObject({ type: 'ack' });
    expect(await request(c, { type: 'write', payload: { text: 'x' } })).toMatchObject({ type: 'ack' });
    c.peer.close();
  });

  it('refusals count toward the penalty ladder: closed 4429 at `strikes`', async () => {
    const s = await serve({ limits: { penalties: { strikes: 3, blockIp: false } } });
    const c = await client(s, 'u');
    for (let i = 0; i < 2; i++) {
      expect(await request(c, { type: 'moderate', payload: { id: String(i) } })).toMatchObject(forbidden);
    }
    c.peer.send({ id: 'last', type: 'moderate', payload: { id: '3' }, csrf: c.csrf });
    expect((await c.peer.closed).code).toBe(4429);
    const other = await client(s, 'fine');
    expect(await request(other, { type: 'echo', payload: 1 })).toMatchObject({ type: 'ack' });
    other.peer.close();
  });

  it('an authorize that throws is WSG_INTERNAL, not a leak', async () => {
    const s = await serve({
      authorize: {
        echo: () => {
          throw new Error('secret internals');
        },
      },
    });
    const c = await client(s, 'u');
    expect(await request(c, { type: 'echo', payload: 1 })).toMatchObject({ code: 'WSG_INTERNAL' });
    assertNoLeak(c.peer.frames);
    c.peer.close();
  });
});

describe('app errors', () => {
  it('appError reaches the client with its code and message, logged without a stack', async () => {
    const events: SecurityEvent[] = [];
    const s = await serve({}, events);
    const c = await client(s, 'u');
    const reply = await request(c, { type: 'lookup', payload: { key: 'missing' } });
    expect(reply).toEqual({
      type: 'error',
      id: expect.any(String),
      code: 'APP_NOT_FOUND',
      message: 'No such room',
    });
    const logged = events.find((e) => e.event === 'handler.refused');
    expect(logged).toMatchObject({ level: 'info', detail: 'lookup: APP_NOT_FOUND' });
    expect(events.some((e) => e.event === 'handler.error')).toBe(false);
    expect(await request(c, { type: 'lookup', payload: { key: 'k' } })).toMatchObject({
      type: 'ack',
      result: { key: 'k', by: 'u' },
    });
    c.peer.close();
  });

  it('a plain Error stays WSG_INTERNAL with the registry message only', async () => {
    const s = await serve();
    const c = await client(s, 'u');
    expect(await request(c, { type: 'lookup', payload: { key: 'boom' } })).toEqual({
      type: 'error',
      id: expect.any(String),
      code: 'WSG_INTERNAL',
      message: 'Internal error',
    });
    assertNoLeak(c.peer.frames);
    c.peer.close();
  });

  it('appError refuses codes outside APP_ and messages too long', () => {
    expect(() => appError('WSG_FORBIDDEN' as 'APP_X', 'x')).toThrow(WsgConfigError);
    expect(() => appError('APP_lower', 'x')).toThrow(WsgConfigError);
    expect(() => appError('APP_X', 'x'.repeat(201))).toThrow(WsgConfigError);
    expect(appError('APP_X', 'fine')).toMatchObject({ code: 'APP_X', message: 'fine' });
  });
});

describe('options and types', () => {
  it('authorize for a type without a schema is a setup error', () => {
    expect(() =>
      setupWebSockets(createServer(), {
        auth: { jwt: { secret: TEST_SECRET } },
        logger: false,
        authorize: { nope: () => true },
      } as WsGuardOptions),
    ).toThrow(WsgConfigError);
  });

  it('the user type flows from verify into handlers and authorize; claims typed by a schema', () => {
    const claims = z.object({ role: z.enum(['staff', 'guest']).optional() });
    const verify = createJwtVerifier({ secret: TEST_SECRET, claims });
    type User = NonNullable<Awaited<ReturnType<typeof verify>>>;
    expectTypeOf<NonNullable<User['claims']>['role']>().toEqualTypeOf<'staff' | 'guest' | undefined>();
    const options: WsGuardOptions<{ chat: z.ZodString }, User> = {
      auth: { verify },
      messages: { chat: z.string() },
      authorize: { chat: (user) => user.claims?.role === 'staff' },
      handlers: {
        chat: (ctx) => {
          expectTypeOf(ctx.user.claims?.role).toEqualTypeOf<'staff' | 'guest' | undefined>();
        },
      },
    };
    expectTypeOf(options).toExtend<WsGuardOptions<{ chat: z.ZodString }, Principal<object>>>();
  });

  it('a claims schema refuses a token whose claims do not fit', async () => {
    const verify = createJwtVerifier({ secret: TEST_SECRET, claims: z.object({ role: z.literal('staff') }) });
    expect(await verify(await signToken('u', { role: 'guest' }))).toBeNull();
    const ok = await verify(await signToken('u', { role: 'staff' }));
    expect(ok?.claims).toMatchObject({ role: 'staff', sub: 'u' });
    expect(typeof ok?.claims?.iat).toBe('number');
  });
});
