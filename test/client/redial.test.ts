import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createRedial } from '../../src/client/redial.js';

let live = true;
let dials = 0;
let offlineChanges = 0;
const nav = { onLine: true };

beforeEach(() => {
  vi.useFakeTimers({ now: 0 });
  live = true;
  dials = 0;
  offlineChanges = 0;
  nav.onLine = true;
  Object.defineProperty(globalThis, 'navigator', { value: nav, configurable: true });
});
afterEach(() => {
  vi.useRealTimers();
  delete (globalThis as Record<string, unknown>).navigator;
});

function redial() {
  return createRedial({
    now: () => Date.now(),
    log: () => {},
    live: () => live,
    dial: () => dials++,
    onOfflineChange: () => offlineChanges++,
  });
}

describe('createRedial', () => {
  it('dials now, or after the delay; stop() cancels; nothing once the client is closed', () => {
    const r = redial();
    r.now();
    expect(dials).toBe(1);
    r.after(100, 0);
    vi.advanceTimersByTime(99);
    expect(dials).toBe(1);
    vi.advanceTimersByTime(1);
    expect(dials).toBe(2);
    r.after(100, 0);
    r.stop();
    vi.advanceTimersByTime(1000);
    expect(dials).toBe(2);
    live = false;
    r.now();
    expect(dials).toBe(2);
  });

  it('never dials before the retry-after, even when a signal wakes it early', () => {
    const r = redial();
    r.after(100, 500);
    expect(r.wake('visible')).toBe(true);
    vi.advanceTimersByTime(499);
    expect(dials).toBe(0);
    vi.advanceTimersByTime(1);
    expect(dials).toBe(1);
  });

  it('waits while offline and dials at once on wake; wake does nothing when nothing waits', () => {
    const r = redial();
    expect(r.wake('online')).toBe(false);
    nav.onLine = false;
    r.now();
    expect([dials, r.offline, offlineChanges]).toEqual([0, true, 1]);
    nav.onLine = true;
    expect(r.wake('online')).toBe(true);
    expect([r.offline, offlineChanges]).toEqual([false, 2]);
    vi.advanceTimersByTime(0);
    expect(dials).toBe(1);
  });

  it('wakes a long backoff: the dial happens now instead of in a minute', () => {
    const r = redial();
    r.after(60_000, 0);
    r.wake('visible');
    vi.advanceTimersByTime(0);
    expect(dials).toBe(1);
    vi.advanceTimersByTime(60_000);
    expect(dials).toBe(1);
  });
});
