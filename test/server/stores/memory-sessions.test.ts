import { describe, expect, it } from 'vitest';
import { createMemorySessions } from '../../../src/server/stores/memory/sessions.js';
import type { SessionRecord } from '../../../src/server/stores/types.js';

const base = {
  id: 's1',
  userId: 'alice',
  csrfToken: 'c'.repeat(43),
  createdAt: 1_700_000_000_000,
  lastActiveAt: 1_700_000_000_500,
  expiresAt: 1_700_000_900_000,
};

describe('memory sessions', () => {
  it('gives back each record as it was put: one token, several, none, with and without jti', () => {
    let t = 1_700_000_000_000;
    const store = createMemorySessions({ now: () => t });
    const records: SessionRecord[] = [
      { ...base, id: 'one', tokens: [{ id: 'sha256:abc', until: 1_700_000_600_000 }] },
      { ...base, id: 'jti', jti: 'j-1', tokens: [{ id: 'j-1', until: 1_700_000_600_000 }] },
      {
        ...base,
        id: 'many',
        tokens: [
          { id: 'a', until: 1 },
          { id: 'b', until: 2 },
        ],
      },
      { ...base, id: 'none' },
      { ...base, id: 'empty', tokens: [] },
      // Kept as a copy: times that are not whole ms, or far apart, or a token with more keys.
      { ...base, id: 'fraction', expiresAt: 1_700_000_900_000.5, tokens: [{ id: 'a', until: 0.25 }] },
      { ...base, id: 'far', expiresAt: 1_700_000_000_000 + 30 * 86_400_000 },
      { ...base, id: 'infinite', expiresAt: Number.POSITIVE_INFINITY },
      { ...base, id: 'wide', tokens: [{ id: 'a', until: 5, extra: 1 } as { id: string; until: number }] },
      { ...base, id: 'undefined-jti', jti: undefined as unknown as string },
    ];
    for (const r of records) store.putSession(r);
    for (const r of records) {
      const got = store.getSession(r.id) as SessionRecord;
      expect(got).toStrictEqual(r);
      expect(Object.keys(got).sort()).toEqual(Object.keys(r).sort());
      expect(got).not.toBe(r);
    }
    // A copy each time: changing what was handed back changes nothing stored.
    const got = store.getSession('one') as SessionRecord;
    got.csrfToken = 'changed';
    (got.tokens as { id: string; until: number }[])[0] = { id: 'x', until: 0 };
    expect(store.getSession('one')).toStrictEqual(records[0]);
    t = base.expiresAt;
    expect(store.getSession('one')).toBeUndefined();
    expect(store.getSession('far')).toStrictEqual(records.find((r) => r.id === 'far'));
  });

  it('a refresh written back replaces the record; delete and revocations as before', () => {
    const store = createMemorySessions({ now: () => 1_700_000_000_000 });
    store.putSession({ ...base, tokens: [{ id: 'a', until: 5 }] });
    const r = store.getSession('s1') as SessionRecord;
    r.tokens = [...(r.tokens ?? []), { id: 'b', until: 6 }];
    r.jti = 'j-2';
    store.putSession(r);
    expect(store.getSession('s1')).toStrictEqual({
      ...base,
      jti: 'j-2',
      tokens: [
        { id: 'a', until: 5 },
        { id: 'b', until: 6 },
      ],
    });
    store.deleteSession('s1');
    expect(store.getSession('s1')).toBeUndefined();
    store.revoke('token', 'a', 1_700_000_000_001);
    expect(store.revokedUntil('token', 'a')).toBe(1_700_000_000_001);
    expect(store.revokedUntil('user', 'a')).toBeUndefined();
  });
});
