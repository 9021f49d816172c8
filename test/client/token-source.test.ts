import { describe, expect, it } from 'vitest';
import { BOUNDS } from '../../src/client/bounds.js';
import { AuthError } from '../../src/client/index.js';
import { createTokenSource } from '../../src/client/token-source.js';

describe('createTokenSource budget', () => {
  it('makes at most perMinute getToken() calls in a minute; the next waits for the oldest to age out', async () => {
    let calls = 0;
    const clock = 1_000_000;
    const source = createTokenSource({
      authToken: undefined,
      getToken: () => `t${++calls}`,
      inProtocol: false,
      perMinute: 3,
      now: () => clock,
    });
    for (let i = 0; i < 3; i++) await source.get();
    expect(calls).toBe(3);
    let fourth: string | undefined;
    void source.get().then((t) => {
      fourth = t;
    });
    await new Promise((r) => setTimeout(r, 50));
    expect(calls).toBe(3);
    expect(fourth).toBeUndefined();
  });
});

describe('createTokenSource', () => {
  it('calls getToken() for every request, but shares one call while it is in flight', async () => {
    let calls = 0;
    let release: (t: string) => void = () => {};
    const source = createTokenSource({
      authToken: undefined,
      getToken: () =>
        new Promise<string>((resolve) => {
          calls++;
          release = resolve;
        }),
      inProtocol: false,
    });
    const a = source.get();
    const b = source.get();
    await Promise.resolve();
    await Promise.resolve();
    release('t1');
    expect(await Promise.all([a, b])).toEqual(['t1', 't1']);
    expect(calls).toBe(1);
    const c = source.get();
    await Promise.resolve();
    await Promise.resolve();
    release('t2');
    expect(await c).toBe('t2');
    expect(calls).toBe(2);
  });

  it('wraps failures (thrown, rejected, bad values) in AuthError and recovers on the next call', async () => {
    const answers: (() => unknown)[] = [
      () => {
        throw new Error('sync boom');
      },
      () => Promise.reject(new Error('async boom')),
      () => '',
      () => 42,
      () => 'good',
    ];
    const source = createTokenSource({
      authToken: undefined,
      getToken: () => (answers.shift() as () => string)(),
      inProtocol: false,
    });
    for (let i = 0; i < 4; i++) await expect(source.get()).rejects.toBeInstanceOf(AuthError);
    await expect(source.get()).resolves.toBe('good');
  });

  it('refuses a token a subprotocol header cannot carry when authTransport is protocol', async () => {
    const inProtocol = createTokenSource({ authToken: 'has space', getToken: undefined, inProtocol: true });
    await expect(inProtocol.get()).rejects.toThrow(/subprotocol/);
    const inMessage = createTokenSource({ authToken: 'has space', getToken: undefined, inProtocol: false });
    await expect(inMessage.get()).resolves.toBe('has space');
  });
});

describe('createTokenSource unspent tokens', () => {
  const jwtWithExp = (expSeconds: number) =>
    `h.${Buffer.from(JSON.stringify({ exp: expSeconds })).toString('base64url')}.s`;

  it('hands a token returned unspent out again without calling getToken() or using the budget', async () => {
    let calls = 0;
    const source = createTokenSource({
      authToken: undefined,
      getToken: () => `t${++calls}`,
      inProtocol: false,
      perMinute: 2,
      now: () => 1_000_000,
    });
    const first = await source.get();
    for (let i = 0; i < 50; i++) {
      source.unspent(first);
      expect(await source.get()).toBe(first);
    }
    expect(calls).toBe(1);
    // Taken once: without a new unspent() the next get() calls getToken(), within the budget.
    expect(await source.get()).toBe('t2');
    expect(calls).toBe(2);
  });

  it('keeps only the latest token, and not past its age bound or close to its exp', async () => {
    let clock = 1_000_000;
    let next = () => 'plain';
    let calls = 0;
    const source = createTokenSource({
      authToken: undefined,
      getToken: () => {
        calls++;
        return next();
      },
      inProtocol: false,
      now: () => clock,
    });
    const old = await source.get();
    next = () => 'newer';
    await source.get();
    source.unspent(old);
    expect(await source.get()).toBe('newer');
    expect(calls).toBe(3);

    const t = await source.get();
    source.unspent(t);
    clock += BOUNDS.unspentTokenMaxAgeMs + 1;
    await source.get();
    expect(calls).toBe(5);

    const soon = jwtWithExp(Math.floor((clock + BOUNDS.unspentTokenMaxAgeMs / 2) / 1000));
    next = () => soon;
    expect(await source.get()).toBe(soon);
    source.unspent(soon);
    await source.get();
    expect(calls).toBe(7);
  });

  it('a fixed authToken ignores unspent()', async () => {
    const source = createTokenSource({ authToken: 'fixed', getToken: undefined, inProtocol: false });
    source.unspent('other');
    await expect(source.get()).resolves.toBe('fixed');
  });
});
