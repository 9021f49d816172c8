import { describe, expect, it } from 'vitest';
import { createDedupeCache } from '../../../src/server/pipeline/dedupe.js';
import { hashId } from '../../../src/server/pipeline/dedupe-ring.js';

/** A repeatable integer in [0, n) per call (an LCG): the same sequence on every run. */
function seededRandom(seed: number): (n: number) => number {
  let rnd = seed;
  return (n) => {
    rnd = (Math.imul(rnd, 1103515245) + 12345) >>> 0;
    return (rnd >>> 8) % n;
  };
}

function cache(o: { window?: number; ttlMs?: number; maxUsers?: number } = {}) {
  const clock = { t: 1_000_000 };
  const c = createDedupeCache({
    window: o.window ?? 1000,
    ttlMs: o.ttlMs ?? 60_000,
    maxUsers: o.maxUsers ?? 100_000,
    now: () => clock.t,
  });
  return { c, clock };
}

describe('dedupe cache', () => {
  it('gives back the remembered reply for the same user and id, and nothing for another user', () => {
    const { c } = cache();
    const pending = Promise.resolve('{"type":"ack","id":"b"}');
    c.set('u1', 'a', '{"type":"ack","id":"a"}');
    c.set('u1', 'b', pending);
    expect(c.get('u1', 'a')).toBe('{"type":"ack","id":"a"}');
    expect(c.get('u1', 'b')).toBe(pending);
    expect(c.get('u2', 'a')).toBeUndefined();
    expect(c.get('u1', 'c')).toBeUndefined();
    expect(c.size).toBe(2);
  });

  it('forgets an id ttlMs after it was first seen; the sweep frees it and the user', () => {
    const { c, clock } = cache({ ttlMs: 60_000 });
    c.set('u1', 'a', 'ack-a');
    clock.t += 59_999;
    expect(c.get('u1', 'a')).toBe('ack-a');
    clock.t += 1;
    expect(c.get('u1', 'a')).toBeUndefined();
    c.sweep(clock.t);
    expect(c.size).toBe(0);
    expect(c.users).toBe(0);
  });

  it('expires each id on its own: a user who keeps sending keeps only the last ttlMs of ids', () => {
    const { c, clock } = cache({ ttlMs: 10_000 });
    for (let i = 0; i < 30; i++) {
      c.set('u1', `m${i}`, `ack-${i}`);
      clock.t += 1000;
    }
    // Now is 30 s on: m20 was seen 10 s ago (expired), m21..m29 within the last 10 s.
    c.sweep(clock.t);
    expect(c.get('u1', 'm20')).toBeUndefined();
    expect(c.get('u1', 'm21')).toBe('ack-21');
    expect(c.get('u1', 'm29')).toBe('ack-29');
    expect(c.size).toBe(9);
    expect(c.users).toBe(1);
  });

  // Regression (found by `npm run soak`): ids were kept per user until the window (1,000) was full
  // and the user idle for 10 minutes, so the same users reconnecting and sending held up to
  // users × 1,000 replies: the server's heap grew by 67% in 20 s of a 200-socket soak. Now the
  // cache holds what arrived within the TTL, whatever the number of messages over time.
  it('stays bounded by the TTL when the same 2,000 users send again and again', () => {
    const { c, clock } = cache({ ttlMs: 10_000 });
    const sizes: number[] = [];
    for (let wave = 0; wave < 100; wave++) {
      for (let u = 0; u < 2000; u++) for (let k = 0; k < 3; k++) c.set(`user-${u}`, `${wave}-${k}`, 'ack');
      clock.t += 1000;
      if (wave % 5 === 4) c.sweep(clock.t);
      sizes.push(c.size);
    }
    // At most the ids of the last 10 s (10 waves) plus up to 5 waves waiting for the sweep; the
    // old cache held 2000 × 300 here, and 2000 × 1000 given time.
    expect(Math.max(...sizes)).toBeLessThanOrEqual(2000 * 3 * 15);
    expect(c.size).toBe(2000 * 3 * 9);
    expect(c.users).toBe(2000);
  });

  it('keeps at most `window` ids per user, dropping the oldest', () => {
    const { c } = cache({ window: 3 });
    for (const id of ['a', 'b', 'c', 'd']) c.set('u1', id, `ack-${id}`);
    expect(c.get('u1', 'a')).toBeUndefined();
    expect(c.get('u1', 'd')).toBe('ack-d');
    expect(c.size).toBe(3);
  });

  it('keeps at most maxUsers users, dropping the one least recently seen', () => {
    const { c } = cache({ maxUsers: 2 });
    c.set('u1', 'a', 'x');
    c.set('u2', 'a', 'x');
    c.set('u1', 'b', 'x');
    c.set('u3', 'a', 'x');
    expect(c.get('u2', 'a')).toBeUndefined();
    expect(c.get('u1', 'a')).toBe('x');
    expect(c.get('u3', 'a')).toBe('x');
    expect(c.users).toBe(2);
    expect(c.size).toBe(3);
  });

  it('window 0 turns dedupe off', () => {
    const { c } = cache({ window: 0 });
    c.set('u1', 'a', 'x');
    expect(c.get('u1', 'a')).toBeUndefined();
    expect(c.size).toBe(0);
  });

  it('an id seen again after it expired is remembered anew, with its new reply and time', () => {
    const { c, clock } = cache({ ttlMs: 1000, window: 3 });
    c.set('u1', 'a', 'first');
    c.set('u1', 'b', 'x');
    clock.t += 600;
    c.set('u1', 'c', 'x');
    clock.t += 500; // a and b expired, c has not
    expect(c.get('u1', 'a')).toBeUndefined();
    c.set('u1', 'a', 'second');
    expect(c.get('u1', 'a')).toBe('second');
    expect(c.get('u1', 'c')).toBe('x');
    expect(c.size).toBe(2);
    clock.t += 600; // c expires; the new a has not
    c.sweep(clock.t);
    expect(c.get('u1', 'a')).toBe('second');
    expect(c.size).toBe(1);
    clock.t += 500;
    c.sweep(clock.t);
    expect(c.size).toBe(0);
    expect(c.users).toBe(0);
  });

  it('keeps the window and the TTL over many more ids than the window, from one busy user', () => {
    const { c, clock } = cache({ window: 100, ttlMs: 10_000 });
    for (let i = 0; i < 5000; i++) {
      c.set('u1', `id-${i}`, `ack-${i}`);
      clock.t += 1;
    }
    expect(c.size).toBe(100);
    expect(c.get('u1', 'id-4899')).toBeUndefined();
    expect(c.get('u1', 'id-4900')).toBe('ack-4900');
    expect(c.get('u1', 'id-4999')).toBe('ack-4999');
    clock.t += 10_000;
    c.sweep(clock.t);
    expect(c.size).toBe(0);
    expect(c.users).toBe(0);
  });

  it('a user seen last and then seen again stays the most recent: the least recent is dropped', () => {
    const { c } = cache({ maxUsers: 2 });
    c.set('u1', 'a', 'x');
    c.set('u2', 'a', 'x');
    c.set('u2', 'b', 'x');
    c.set('u1', 'b', 'x');
    c.set('u1', 'c', 'x');
    c.set('u3', 'a', 'x');
    expect(c.get('u2', 'a')).toBeUndefined();
    expect(c.get('u1', 'c')).toBe('x');
    expect(c.users).toBe(2);
    // A user dropped while it was the last one seen comes back as a new user.
    c.set('u3', 'b', 'x');
    expect(c.get('u3', 'b')).toBe('x');
    expect(c.size).toBe(5);
  });
});

describe('dedupe cache byte budgets', () => {
  const budgets = { maxUserBytes: 64 * 1024, maxBytes: 256 * 1024, maxEntryBytes: 4096 };
  function bounded(o: { window?: number } = {}) {
    const clock = { t: 1_000_000 };
    const c = createDedupeCache({
      window: o.window ?? 1000,
      ttlMs: 60_000,
      maxUsers: 100_000,
      ...budgets,
      now: () => clock.t,
    });
    return { c, clock };
  }
  // 1,500 characters: 3,016 estimated bytes, under the 4 KiB entry cap.
  const reply = (i: number) => `中${String(i).padStart(6, '0')}${'x'.repeat(1493)}`;

  it('keeps no reply over maxEntryBytes, only its id: get says null', () => {
    const { c } = bounded();
    c.set('u1', 'big', 'x'.repeat(2049));
    c.set('u1', 'small', 'x'.repeat(2000));
    expect(c.get('u1', 'big')).toBeNull();
    expect(c.get('u1', 'small')).toBe('x'.repeat(2000));
    expect(c.size).toBe(2);
  });

  it('holds one user to maxUserBytes: the oldest replies go first, their ids stay', () => {
    const { c } = bounded();
    for (let i = 0; i < 200; i++) c.set('u1', `m${i}`, reply(i));
    expect(c.bytes).toBeLessThanOrEqual(budgets.maxUserBytes);
    expect(c.size).toBe(200);
    expect(c.get('u1', 'm0')).toBeNull();
    expect(c.get('u1', 'm199')).toBe(reply(199));
  });

  it('holds all users to maxBytes: the users seen longest ago lose their replies first', () => {
    const { c } = bounded();
    for (let u = 0; u < 10; u++) for (let i = 0; i < 30; i++) c.set(`u${u}`, `m${i}`, reply(i));
    expect(c.bytes).toBeLessThanOrEqual(budgets.maxBytes);
    expect(c.get('u0', 'm29')).toBeNull();
    expect(c.get('u9', 'm29')).toBe(reply(29));
    expect(c.size).toBe(300);
  });

  it('over maxBytes round after round: always the least recently seen user with a reply loses it first', () => {
    const { c } = bounded();
    // Each entry ~3.2 KB: 10 users x 8 fill the 256 KiB budget.
    for (let i = 0; i < 8; i++) for (let u = 0; u < 10; u++) c.set(`u${u}`, `m${i}`, reply(i));
    // Keep sending round-robin: the user about to send is the one seen longest ago, so each
    // new reply costs the oldest reply of the next user in line, never a fresher one.
    for (let i = 8; i < 40; i++) {
      for (let u = 0; u < 10; u++) {
        c.set(`u${u}`, `m${i}`, reply(i));
        expect(c.bytes).toBeLessThanOrEqual(budgets.maxBytes);
        expect(c.get(`u${u}`, `m${i}`)).toBe(reply(i));
      }
    }
    for (let u = 0; u < 10; u++) {
      const kept = Array.from({ length: 40 }, (_, i) => c.get(`u${u}`, `m${i}`) !== null);
      // A contiguous run of the newest replies, the older ones stripped to their ids.
      const first = kept.indexOf(true);
      expect(first).toBeGreaterThan(0);
      expect(kept.slice(first).every(Boolean)).toBe(true);
    }
    // One user went quiet: its replies go before any of the others' newer ones.
    for (let i = 40; i < 45; i++) for (let u = 1; u < 10; u++) c.set(`u${u}`, `m${i}`, reply(i));
    for (let u = 1; u < 10; u++) expect(c.get(`u${u}`, 'm44')).toBe(reply(44));
    const quiet = Array.from({ length: 40 }, (_, i) => c.get('u0', `m${i}`));
    expect(quiet.filter((r) => r !== null).length).toBeLessThan(
      Array.from({ length: 45 }, (_, i) => c.get('u1', `m${i}`)).filter((r) => r !== null).length,
    );
    expect(c.size).toBe(40 + 9 * 45);
  });

  it('ids alone over maxBytes: the oldest ids of the users seen longest ago go, an emptied user is forgotten', () => {
    const clock = { t: 1_000_000 };
    // ~150 bytes an id: 20 ids fill 3 KB; replies over maxEntryBytes are never kept.
    const c = createDedupeCache({
      window: 1000,
      ttlMs: 60_000,
      maxUsers: 100,
      maxBytes: 3000,
      maxEntryBytes: 1,
      now: () => clock.t,
    });
    for (let u = 0; u < 4; u++) for (let i = 0; i < 5; i++) c.set(`u${u}`, `m${i}`, 'reply');
    expect(c.bytes).toBeLessThanOrEqual(3000);
    for (let i = 0; i < 20; i++) c.set('u9', `n${i}`, 'reply');
    expect(c.bytes).toBeLessThanOrEqual(3000);
    // The earlier users' ids went oldest user first: what is left of them is the newest few.
    const order = [0, 1, 2, 3].flatMap((u) =>
      [0, 1, 2, 3, 4].map((i) => c.get(`u${u}`, `m${i}`) !== undefined),
    );
    const firstLeft = order.indexOf(true);
    expect(firstLeft).toBeGreaterThan(10);
    expect(order.slice(firstLeft).every(Boolean)).toBe(true);
    for (let i = 0; i < 20; i++) expect(c.get('u9', `n${i}`)).toBeNull();
    // A user left without ids is not kept as an empty record.
    const left = [0, 1, 2, 3].filter((u) =>
      [0, 1, 2, 3, 4].some((i) => c.get(`u${u}`, `m${i}`) !== undefined),
    );
    expect(c.users).toBe(1 + left.length);
  });

  it('counts a pending reply when it settles, and keeps none over the cap', async () => {
    const { c } = bounded();
    c.set('u1', 'a', Promise.resolve('x'.repeat(3000)));
    c.set('u1', 'b', Promise.resolve('x'.repeat(3000)));
    const before = c.bytes;
    await Promise.resolve();
    await Promise.resolve();
    expect(c.get('u1', 'a')).toBeNull();
    expect(c.get('u1', 'b')).toBeNull();
    expect(c.bytes).toBe(before);
    c.set('u1', 'c', Promise.resolve('ok'));
    await Promise.resolve();
    await Promise.resolve();
    expect(c.get('u1', 'c')).toBe('ok');
    expect(c.bytes).toBeGreaterThan(before);
  });

  it('gives the bytes of a replaced or expired entry back', () => {
    const { c, clock } = bounded();
    c.set('u1', 'a', 'x'.repeat(1000));
    const one = c.bytes;
    c.set('u1', 'a', 'x'.repeat(1000));
    expect(c.bytes).toBe(one);
    clock.t += 60_000;
    c.sweep(clock.t);
    expect(c.bytes).toBe(0);
    expect(c.users).toBe(0);
  });
});

describe('dedupe cache tables and rings', () => {
  const SEED = 0x2545f491;
  function seeded(o: { window?: number; ttlMs?: number; maxUsers?: number; maxBytes?: number } = {}) {
    const clock = { t: 1_000_000 };
    const c = createDedupeCache({
      window: o.window ?? 1000,
      ttlMs: o.ttlMs ?? 60_000,
      maxUsers: o.maxUsers ?? 100_000,
      ...(o.maxBytes === undefined ? {} : { maxBytes: o.maxBytes, maxEntryBytes: 4096 }),
      seed: SEED,
      now: () => clock.t,
    });
    return { c, clock };
  }

  /** Two different ids whose full 32-bit hashes are equal (a birthday search). */
  function collidingPair(): [string, string] {
    const seen = new Map<number, string>();
    for (let i = 0; ; i++) {
      const id = `c-${i}`;
      const h = hashId(id, SEED);
      const other = seen.get(h);
      if (other !== undefined) return [other, id];
      seen.set(h, id);
    }
  }

  it('tells apart two ids of one user with the same hash, through replace, window drop and expiry', () => {
    const [a, b] = collidingPair();
    expect(a).not.toBe(b);
    expect(hashId(a, SEED)).toBe(hashId(b, SEED));
    const { c, clock } = seeded({ window: 3, ttlMs: 10_000 });
    c.set('u1', a, 'reply-a');
    c.set('u1', b, 'reply-b');
    expect(c.get('u1', a)).toBe('reply-a');
    expect(c.get('u1', b)).toBe('reply-b');
    // a drops out of the window: b, behind it in the same probe run, is still found.
    c.set('u1', 'x', 'x');
    c.set('u1', 'y', 'y');
    expect(c.get('u1', a)).toBeUndefined();
    expect(c.get('u1', b)).toBe('reply-b');
    // a seen again: a new entry, b untouched; replacing b keeps a.
    c.set('u1', a, 'reply-a2');
    c.set('u1', b, 'reply-b2');
    expect(c.get('u1', a)).toBe('reply-a2');
    expect(c.get('u1', b)).toBe('reply-b2');
    expect(c.size).toBe(3);
    clock.t += 10_000;
    c.sweep(clock.t);
    expect(c.get('u1', a)).toBeUndefined();
    expect(c.get('u1', b)).toBeUndefined();
    expect([c.size, c.users, c.bytes]).toEqual([0, 0, 0]);
  });

  it('keeps equal ids of different users apart: replies never cross, dropping one user leaves the others', () => {
    const { c } = seeded({ window: 4, maxUsers: 30 });
    for (let u = 0; u < 30; u++) for (let i = 1; i <= 6; i++) c.set(`u${u}`, String(i), `u${u}:${i}`);
    for (let u = 0; u < 30; u++) {
      expect(c.get(`u${u}`, '1')).toBeUndefined();
      expect(c.get(`u${u}`, '2')).toBeUndefined();
      for (let i = 3; i <= 6; i++) expect(c.get(`u${u}`, String(i))).toBe(`u${u}:${i}`);
    }
    // A 31st user pushes out u0 (seen longest ago), no one else.
    c.set('new', '3', 'new:3');
    expect(c.get('u0', '3')).toBeUndefined();
    expect(c.get('u1', '3')).toBe('u1:3');
    expect(c.get('new', '3')).toBe('new:3');
    expect(c.users).toBe(30);
    expect(c.size).toBe(29 * 4 + 1);
  });

  it('a hostile user whose ids all land in a few buckets still gets exact answers, and others are untouched', () => {
    // Ids whose hashes share their low 6 bits: they pile up in 1/64 of the buckets.
    const crafted: string[] = [];
    for (let i = 0; crafted.length < 600; i++) if ((hashId(`h${i}`, SEED) & 63) === 0) crafted.push(`h${i}`);
    const { c } = seeded({ window: 200 });
    c.set('victim', crafted[0] as string, 'mine');
    crafted.forEach((id, i) => {
      c.set('hostile', id, `r${i}`);
    });
    crafted.forEach((id, i) => {
      expect(c.get('hostile', id)).toBe(i >= 400 ? `r${i}` : undefined);
    });
    expect(c.get('victim', crafted[0] as string)).toBe('mine');
    expect(c.size).toBe(201);
    // A resend of a held id is answered, never handled again; a dropped one may be.
    expect(c.get('hostile', crafted[599] as string)).toBe('r599');
  });

  it('settles a pending reply into its own entry after the ring has grown around it', async () => {
    const { c } = seeded();
    let resolve: (frame: string) => void = () => {};
    c.set('u1', 'p', new Promise<string>((r) => (resolve = r)));
    for (let i = 0; i < 50; i++) c.set('u1', `m${i}`, `ack-${i}`);
    const before = c.bytes;
    resolve('done');
    await new Promise((r) => setImmediate(r));
    expect(c.get('u1', 'p')).toBe('done');
    expect(c.get('u1', 'm49')).toBe('ack-49');
    expect(c.bytes).toBe(before + 16 + 2 * 'done'.length);
  });

  it('drops a pending reply whose user was forgotten, or that the total budget passed', async () => {
    const { c } = seeded({ maxUsers: 1, maxBytes: 2000 });
    let late: (frame: string) => void = () => {};
    c.set('u1', 'p', new Promise<string>((r) => (late = r)));
    c.set('u2', 'a', 'x');
    late('ok');
    await new Promise((r) => setImmediate(r));
    expect(c.get('u1', 'p')).toBeUndefined();
    expect(c.users).toBe(1);
    const bytes = c.bytes;
    expect(c.get('u2', 'a')).toBe('x');

    let slow: (frame: string) => void = () => {};
    c.set('u2', 'q', new Promise<string>((r) => (slow = r)));
    // Newer replies push the total over: the pending one is the oldest reply and is let go.
    for (let i = 0; i < 6; i++) c.set('u2', `n${i}`, 'y'.repeat(100));
    expect(c.bytes).toBeLessThanOrEqual(2000);
    slow('late');
    await new Promise((r) => setImmediate(r));
    expect(c.get('u2', 'q')).toBeNull();
    expect(c.bytes).toBeLessThanOrEqual(2000);
    expect(bytes).toBeGreaterThan(0);
  });

  /**
   * Against a plain model: per user a list in first-seen order, the window, the TTL, maxUsers by
   * least recently seen. Run like dispatch (set only what get does not know), over many wraps of
   * every ring and with ids that repeat within and across users.
   */
  it('answers exactly like a plain model over thousands of random messages', () => {
    const W = 8;
    const TTL = 5_000;
    const MAX_USERS = 15;
    const { c, clock } = seeded({ window: W, ttlMs: TTL, maxUsers: MAX_USERS });
    type E = { id: string; at: number; reply: string };
    const model = new Map<string, E[]>();
    const mGet = (u: string, id: string) => {
      const e = model.get(u)?.find((x) => x.id === id);
      return e !== undefined && clock.t - e.at < TTL ? e.reply : undefined;
    };
    const next = seededRandom(12345);
    let handled = 0;
    for (let step = 0; step < 20_000; step++) {
      clock.t += next(40);
      const u = `u${next(20)}`;
      const id = String(next(30));
      const got = c.get(u, id);
      expect(got).toBe(mGet(u, id));
      if (got !== undefined) continue;
      handled++;
      const reply = `${u}/${id}/${step}`;
      c.set(u, id, reply);
      let list = model.get(u);
      if (list === undefined) {
        if (model.size >= MAX_USERS) model.delete(model.keys().next().value as string);
        list = [];
      } else model.delete(u);
      model.set(u, list);
      const i = list.findIndex((x) => x.id === id);
      if (i >= 0) list.splice(i, 1);
      list.push({ id, at: clock.t, reply });
      if (list.length > W) list.shift();
      for (const [user, l] of model) {
        while (l.length > 0 && clock.t - (l[0] as E).at >= TTL) l.shift();
        if (l.length === 0) model.delete(user);
      }
      expect(c.size).toBe([...model.values()].reduce((n, l) => n + l.length, 0));
      expect(c.users).toBe(model.size);
      if (step % 1000 === 0) c.sweep(clock.t);
    }
    expect(handled).toBeGreaterThan(5000);
    clock.t += TTL;
    c.sweep(clock.t);
    expect([c.size, c.users, c.bytes]).toEqual([0, 0, 0]);
  });

  it('under a binding total budget keeps every id of the window, lets only replies go, and gives all bytes back', () => {
    const W = 16;
    const TTL = 4_000;
    // 40 users x 16 ids x ~150 B of ids fit; their ~1 KB replies do not.
    const maxBytes = 200_000;
    const { c, clock } = seeded({ window: W, ttlMs: TTL, maxBytes });
    const firstSeen = new Map<string, number>();
    const windows = new Map<string, string[]>();
    const next = seededRandom(99);
    let stripped = 0;
    for (let step = 0; step < 20_000; step++) {
      clock.t += next(3);
      const u = `u${next(40)}`;
      const id = `m${next(200)}`;
      const key = `${u} ${id}`;
      const recent = windows.get(u) ?? [];
      const at = firstSeen.get(key);
      const mustKnow = at !== undefined && clock.t - at < TTL && recent.includes(id);
      const got = c.get(u, id);
      if (mustKnow) expect(got).not.toBeUndefined();
      if (got === null) stripped++;
      if (typeof got === 'string') expect(got.startsWith(`${key} `)).toBe(true);
      if (got !== undefined) continue;
      c.set(u, id, `${key} ${'r'.repeat(500)}`);
      expect(c.bytes).toBeLessThanOrEqual(maxBytes);
      firstSeen.set(key, clock.t);
      const w = recent.filter((x) => x !== id);
      w.push(id);
      windows.set(u, w.slice(-W));
    }
    expect(stripped).toBeGreaterThan(100);
    clock.t += TTL;
    c.sweep(clock.t);
    expect([c.size, c.users, c.bytes]).toEqual([0, 0, 0]);
  });
});
