import { describe, expect, it } from 'vitest';
import { createEventBus, type SecurityEvent } from '../../../src/server/events.js';
import { keys } from '../../../src/server/limits/keys.js';
import { DEFAULT_PENALTIES } from '../../../src/server/limits/options.js';
import { blockLength, createPenalties, type Offender } from '../../../src/server/limits/penalties.js';
import { memoryStore } from '../../../src/server/stores/memory/index.js';

describe('penalty ladder', () => {
  it('doubles each repeat block and caps it', () => {
    const p = { blockMs: 30_000, factor: 2, maxBlockMs: 3_600_000 };
    expect([1, 2, 3, 4, 5, 6, 7, 8, 9].map((n) => blockLength(p, n))).toEqual([
      30_000, 60_000, 120_000, 240_000, 480_000, 960_000, 1_920_000, 3_600_000, 3_600_000,
    ]);
    expect(blockLength({ ...p, factor: 3 }, 3)).toBe(270_000);
  });

  it('replies first, closes at the strike limit, blocks user and IP, and bans a repeat offender', async () => {
    let t = 1_000_000;
    const now = () => t;
    const store = memoryStore({ now });
    const events: SecurityEvent[] = [];
    const bus = createEventBus(undefined, (e) => events.push(e));
    const penalties = createPenalties(store, { ...DEFAULT_PENALTIES, strikes: 3, banAfter: 3 }, bus, now);
    const offender = (): Offender => ({
      ip: '203.0.113.9',
      user: { id: 'mallory' },
      connectionId: 'c',
      strikes: undefined,
    });

    const blocks: number[] = [];
    for (let round = 0; round < 3; round++) {
      const o = offender();
      expect(penalties.strike(o)).toBeUndefined();
      expect(penalties.strike(o)).toBeUndefined();
      blocks.push((await penalties.strike(o)) as number);
      const user = store.getBlock(keys.userBlock('mallory')) as { until: number; level: number };
      expect(user).toMatchObject({ until: t + (blocks[round] as number), level: round + 1 });
      t += 1000;
    }
    expect(blocks).toEqual([30_000, 60_000, 120_000]);
    expect(store.getBlock(keys.ban('203.0.113.9'))).toMatchObject({
      until: t - 1000 + DEFAULT_PENALTIES.banMs,
    });
    expect(events.filter((e) => e.event === 'penalty.blocked').map((e) => e.code)).toEqual([
      'WSG_BLOCKED',
      'WSG_BLOCKED',
      'WSG_BANNED',
      'WSG_BLOCKED',
    ]);
  });

  it('strikes outside the window start over', () => {
    let t = 0;
    const penalties = createPenalties(
      memoryStore(),
      { ...DEFAULT_PENALTIES, strikes: 2, strikeWindowMs: 1000 },
      createEventBus(undefined),
      () => t,
    );
    const o: Offender = { ip: '1.1.1.1', user: undefined, connectionId: 'c', strikes: undefined };
    expect(penalties.strike(o)).toBeUndefined();
    t = 1500;
    expect(penalties.strike(o)).toBeUndefined();
    expect(penalties.strike(o)).toBeInstanceOf(Promise);
  });
});
