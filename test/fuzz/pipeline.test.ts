import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import {
  assertPrototypesClean,
  CSRF,
  classify,
  createFuzzTarget,
  fuzzInput,
  GOOD_TOKEN,
  runInput,
} from './harness.js';

// Seeded property runs through the in-process pipeline; `npm run fuzz` runs the same
// properties with >= 100,000 inputs (test/fuzz/run.ts).

const SEED = 20_261_125;
const target = createFuzzTarget();
const limited = createFuzzTarget({ limits: true });
afterAll(async () => {
  await target.close();
  await limited.close();
});

const text = (data: string) => ({ data, binary: false, as: 'utf8' as const });

describe('pipeline properties (seeded)', () => {
  it('authenticated: any input ends handled or with a defined WSG_ code, never throws or pollutes', async () => {
    await fc.assert(
      fc.asyncProperty(fuzzInput, async (input) => {
        await runInput(target, 'authed', input);
      }),
      { numRuns: 2000, seed: SEED },
    );
    expect(target.handled).toBeGreaterThan(100);
  });

  it('before auth: any first message ends in auth_ok or a defined close', async () => {
    await fc.assert(
      fc.asyncProperty(fuzzInput, async (input) => {
        const o = await runInput(target, 'preAuth', input);
        expect(o.kind === 'closed' || (o.kind === 'reply' && o.type === 'auth_ok')).toBe(true);
      }),
      { numRuns: 500, seed: SEED },
    );
  });

  it('with rate limits and anomaly scoring on: refusals are defined codes too', async () => {
    await fc.assert(
      fc.asyncProperty(fuzzInput, async (input) => {
        await runInput(limited, 'authed', input);
      }),
      { numRuns: 500, seed: SEED },
    );
  });
});

describe('pipeline edge inputs', () => {
  it.each([
    ['own __proto__ key', `{"type":"merge","payload":{"__proto__":{"polluted":1}},"csrf":"${CSRF}"}`],
    [
      'constructor.prototype',
      `{"type":"merge","payload":{"constructor":{"prototype":{"polluted":1}}},"csrf":"${CSRF}"}`,
    ],
    ['__proto__ in the envelope', `{"type":"merge","__proto__":{"polluted":1},"csrf":"${CSRF}"}`],
    [
      '__proto__ deep inside',
      `{"type":"merge","payload":[[{"a":{"__proto__":{"polluted":1}}}]],"csrf":"${CSRF}"}`,
    ],
    ['20,000-deep nesting', `{"type":"echo","payload":${'['.repeat(20_000)}${']'.repeat(20_000)}}`],
    ['2,001 keys', JSON.stringify({ type: 'echo', payload: new Array(2001).fill(0), csrf: CSRF })],
  ])('%s: WSG_UNSAFE_JSON, prototypes clean', async (_name, data) => {
    expect(await runInput(target, 'authed', text(data))).toEqual({ kind: 'error', code: 'WSG_UNSAFE_JSON' });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('huge numbers: 1e400 is Infinity, refused as a ping ts; handled (as null/number) in a payload', async () => {
    expect(await runInput(target, 'authed', text('{"type":"ping","ts":1e400}'))).toEqual({
      kind: 'error',
      code: 'WSG_INVALID_MESSAGE',
    });
    const o = await runInput(
      target,
      'authed',
      text(
        `{"id":"big-1","type":"echo","payload":[1e400,-1e400,123456789012345678901234567890],"csrf":"${CSRF}"}`,
      ),
    );
    expect(o).toEqual({
      kind: 'handled',
      replies: ['{"type":"ack","id":"big-1","result":[null,null,1.2345678901234568e+29]}'],
    });
  });

  it('a good auth first is auth_ok; the classifier refuses undefined outcomes', async () => {
    expect(
      await runInput(target, 'preAuth', text(JSON.stringify({ type: 'auth', token: GOOD_TOKEN }))),
    ).toEqual({
      kind: 'reply',
      type: 'auth_ok',
    });
    expect(() => classify(['{"type":"error","code":"WSG_NOPE"}'], undefined, false)).toThrow(
      /undefined code/,
    );
    expect(() => classify([], { code: 1011, reason: 'boom' }, false)).toThrow(/without a WSG_ code/);
    expect(() => classify([], { code: 1000, reason: 'WSG_AUTH_FAILED' }, false)).toThrow(/does not match/);
    expect(() => classify([], undefined, false)).toThrow(/neither handled nor refused/);
    expect(() => classify(['not json'], undefined, false)).toThrow();
    assertPrototypesClean();
  });
});
