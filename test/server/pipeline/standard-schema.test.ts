import { type } from 'arktype';
import * as v from 'valibot';
import { afterEach, describe, expect, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import { z as z3FromV4 } from 'zod/v3';
import { z as z3 } from 'zod3';
import { z as z4From3 } from 'zod3/v4';
import { WsgConfigError, type WsgError } from '../../../src/server/errors.js';
import type { HandlerContext } from '../../../src/server/index.js';
import { createSchemaStage } from '../../../src/server/pipeline/schema.js';
import type { StandardSchemaV1 } from '../../../src/server/pipeline/standard-schema.js';
import type { MessageContext } from '../../../src/server/pipeline/types.js';
import { assertNoLeak, connectAuthed } from '../../helpers/peer.js';
import { signToken, startServer, type TestServer } from '../../helpers/server.js';

// Any Standard Schema validator works per message type (Zod 4, Valibot, ArkType), payload
// types inferred from it; a Zod 3 schema is refused at setup with the fix for the zod it came from.

const conn = {
  connectionId: 'c',
  ip: '127.0.0.1',
  user: { id: 'u' },
  sessionId: 's',
  csrfToken: 't',
  rate: undefined,
  anomaly: undefined,
  strikes: undefined,
};
const message = (type: string, payload: unknown): MessageContext => ({
  conn,
  bytes: 10,
  isBinary: false,
  type,
  id: '1',
  payload,
  csrf: undefined,
});

const schemas = {
  valibot: v.object({ name: v.pipe(v.string(), v.trim(), v.minLength(2)), n: v.number() }),
  arktype: type({ name: 'string>1', n: 'number' }),
  zod4: z.object({ name: z.string().trim().min(2), n: z.number() }),
  zod4From3: z4From3.object({ name: z4From3.string(), n: z4From3.number() }),
  asyncValibot: v.pipeAsync(
    v.string(),
    v.checkAsync(async (s) => s.length > 2, 'short'),
  ),
};
const stage = createSchemaStage(schemas, undefined);

async function run(type: string, payload: unknown) {
  const m = message(type, payload);
  const r = await stage(m);
  return { refusal: r as WsgError | undefined, payload: m.payload };
}

describe('Standard Schema validators', () => {
  it('accept a valid payload and hand on the validated value (Valibot transforms it)', async () => {
    expect(await run('valibot', { name: '  ann ', n: 1 })).toEqual({
      refusal: undefined,
      payload: { name: 'ann', n: 1 },
    });
    expect(await run('arktype', { name: 'ann', n: 1 })).toEqual({
      refusal: undefined,
      payload: { name: 'ann', n: 1 },
    });
    expect(await run('zod4', { name: ' ann', n: 1 })).toEqual({
      refusal: undefined,
      payload: { name: 'ann', n: 1 },
    });
    expect((await run('zod4From3', { name: 'a', n: 1 })).refusal).toBeUndefined();
    expect((await run('asyncValibot', 'long')).refusal).toBeUndefined();
  });

  it('refuse a bad payload with WSG_VALIDATION_FAILED and the path in the detail', async () => {
    for (const type of ['valibot', 'arktype', 'zod4']) {
      const { refusal } = await run(type, { name: 'ann', n: 'x' });
      expect(refusal?.code, type).toBe('WSG_VALIDATION_FAILED');
      expect(String(refusal?.detail), type).toMatch(/^n:/);
    }
    expect((await run('asyncValibot', 'ab')).refusal?.code).toBe('WSG_VALIDATION_FAILED');
    expect((await run('valibot', null)).refusal?.code).toBe('WSG_VALIDATION_FAILED');
  });

  it('a Zod 3 schema is refused at setup, saying zod/v4 or upgrade', () => {
    for (const old of [z3.string(), z3FromV4.object({ a: z3FromV4.number() })]) {
      expect(() => createSchemaStage({ chat: old as never }, undefined)).toThrow(
        expect.objectContaining({ name: 'WsgConfigError', code: 'WSG_CONFIG_INVALID_SCHEMA' }),
      );
      expect(() => createSchemaStage({ chat: old as never }, undefined)).toThrow(
        "wsguard: messages.chat is a Zod 3 schema; wsguard takes Zod 4 (or any Standard Schema validator). With zod@3.25 or later, import { z } from 'zod/v4'; with zod@4, import { z } from 'zod' (not 'zod/v3'); or upgrade: npm install zod@4",
      );
    }
  });

  it('anything else is refused at setup', () => {
    for (const bad of [null, 'string', { parse() {} }, { '~standard': { version: 2, validate() {} } }]) {
      expect(() => createSchemaStage({ x: bad as never }, undefined)).toThrow(
        /^wsguard: messages\.x must be a schema implementing Standard Schema v1/,
      );
    }
  });

  it('types each handler payload from its schema', () => {
    type Out<S extends StandardSchemaV1> = StandardSchemaV1.InferOutput<S>;
    expectTypeOf<Out<typeof schemas.valibot>>().toEqualTypeOf<{ name: string; n: number }>();
    expectTypeOf<Out<typeof schemas.arktype>>().toEqualTypeOf<{ name: string; n: number }>();
    expectTypeOf<Out<typeof schemas.zod4>>().toEqualTypeOf<{ name: string; n: number }>();
  });
});

let srv: TestServer | undefined;
afterEach(async () => {
  await srv?.close();
  srv = undefined;
});

describe('on a real server', () => {
  it('validates Valibot and ArkType messages; a refusal leaks nothing and the socket keeps serving', async () => {
    const seen: unknown[] = [];
    srv = await startServer({
      messages: { greet: schemas.valibot, count: type({ n: 'number.integer' }) },
      handlers: {
        greet: (_ctx, p) => {
          expectTypeOf(p).toEqualTypeOf<{ name: string; n: number }>();
          seen.push(p);
          return p.name.toUpperCase();
        },
        count: (ctx, { n }) => {
          expectTypeOf(ctx).toEqualTypeOf<HandlerContext>();
          return n + 1;
        },
      },
    });
    const { peer, csrf } = await connectAuthed(srv.url, await signToken('u'));
    peer.send({ id: 'bad', type: 'greet', payload: { name: 'a', n: 1 }, csrf });
    expect(await peer.next('error')).toMatchObject({ id: 'bad', code: 'WSG_VALIDATION_FAILED' });
    peer.send({ id: 'bad2', type: 'count', payload: { n: 1.5 }, csrf });
    expect(await peer.next('error')).toMatchObject({ id: 'bad2', code: 'WSG_VALIDATION_FAILED' });
    peer.send({ id: 'ok', type: 'greet', payload: { name: ' bob ', n: 2 }, csrf });
    expect(await peer.next('ack')).toMatchObject({ id: 'ok', result: 'BOB' });
    peer.send({ id: 'ok2', type: 'count', payload: { n: 41 }, csrf });
    expect(await peer.next('ack')).toMatchObject({ id: 'ok2', result: 42 });
    expect(seen).toEqual([{ name: 'bob', n: 2 }]);
    assertNoLeak(peer.frames);
    const other = await connectAuthed(srv.url, await signToken('v'));
    other.peer.send({ id: 'o', type: 'count', payload: { n: 1 }, csrf: other.csrf });
    expect(await other.peer.next('ack')).toMatchObject({ id: 'o', result: 2 });
  });
});
