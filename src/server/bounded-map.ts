/**
 * A Map with a TTL per entry and a hard cap on entries: the oldest entry is dropped when a new
 * one would pass the cap, so a flood of distinct keys (IPs, users) cannot grow memory without
 * limit. Reads of an expired entry miss and drop it.
 */
export interface BoundedMap<V> {
  get(key: string): V | undefined;
  /** Stores `value` until `expiresAt` (ms since the epoch). */
  set(key: string, value: V, expiresAt: number): void;
  /**
   * `get(key)`, then for a live entry `set(key, value, expiresAt)`, in one lookup: the value
   * with its expiry renewed, or undefined (the caller sets a new one). `at` is the caller's
   * reading of the clock.
   */
  touch(key: string, at: number, expiresAt: number): V | undefined;
  delete(key: string): void;
  readonly size: number;
  /** Drops every expired entry (cheap to call on a timer). */
  sweep(): void;
}

export function createBoundedMap<V>(maxEntries: number, now: () => number = Date.now): BoundedMap<V> {
  const entries = new Map<string, { value: V; expiresAt: number }>();
  /** The key written last (the map's last entry while it is still there). */
  let lastKey: string | undefined;
  return {
    get(key) {
      const e = entries.get(key);
      if (!e) return undefined;
      if (e.expiresAt <= now()) {
        entries.delete(key);
        return undefined;
      }
      return e.value;
    },
    set(key, value, expiresAt) {
      const e = entries.get(key);
      if (e) {
        e.value = value;
        e.expiresAt = expiresAt;
        // Already the last written (a hot key written again): the order stays as it is.
        if (key === lastKey) return;
        // Re-insertion moves the key to the end: the map's order is least recently written first.
        entries.delete(key);
        entries.set(key, e);
        lastKey = key;
        return;
      }
      if (entries.size >= maxEntries) {
        const oldest = entries.keys().next().value;
        if (oldest !== undefined) entries.delete(oldest);
      }
      entries.set(key, { value, expiresAt });
      lastKey = key;
    },
    touch(key, at, expiresAt) {
      const e = entries.get(key);
      if (e === undefined) return undefined;
      if (e.expiresAt <= at) {
        entries.delete(key);
        return undefined;
      }
      e.expiresAt = expiresAt;
      if (key !== lastKey) {
        entries.delete(key);
        entries.set(key, e);
        lastKey = key;
      }
      return e.value;
    },
    delete(key) {
      entries.delete(key);
    },
    get size() {
      return entries.size;
    },
    sweep() {
      const t = now();
      for (const [k, e] of entries) if (e.expiresAt <= t) entries.delete(k);
    },
  };
}
