import { describe, expect, it } from 'vitest';
import { blockedReason } from '../../src/client/blocked.js';

describe('blockedReason', () => {
  const base = { connected: true, refreshing: false, everOpened: false, offline: () => false };
  it('says why sends wait in each state, and nothing when they can go', () => {
    expect(blockedReason('open', base)).toBeUndefined();
    expect(blockedReason('open', { ...base, refreshing: true })).toBe('refreshing');
    expect(blockedReason('open', { ...base, connected: false })).toBe('reconnecting');
    expect(blockedReason('closed', base)).toBe('closed');
    expect(blockedReason('connecting', base)).toBe('connecting');
    expect(blockedReason('reconnecting', { ...base, everOpened: true })).toBe('reconnecting');
    expect(blockedReason('connecting', { ...base, offline: () => true })).toBe('offline');
  });
  it('asks whether the browser is offline only when not open', () => {
    let asked = 0;
    blockedReason('open', {
      ...base,
      offline: () => {
        asked++;
        return true;
      },
    });
    expect(asked).toBe(0);
  });
});
