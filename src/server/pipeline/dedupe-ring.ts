/**
 * One user's remembered ids: a ring in first-seen order (so the oldest is at the head, for the
 * window, the TTL and the byte budgets) indexed by an open-addressed hash table in a typed array.
 * A lookup of a new id hashes it and reads one small Int32Array; the stored id string is read
 * only when its 32-bit hash matches, and dropping the oldest id finds its table bucket by the
 * hash kept beside it, never by hashing the old string again. No object is made per id.
 *
 * Positions are sequence numbers that only grow (slot = seq & mask), so a position handed out
 * stays valid for as long as the id is held, across a resize of the ring.
 */
export interface UserIds {
  readonly user: string;
  /** By slot; undefined: a free or dead (replaced) slot. */
  ids: (string | undefined)[];
  /** By slot; null: handled, reply not kept. */
  replies: (string | Promise<string> | null)[];
  /** By slot: when the id was first seen. */
  at: Float64Array;
  /**
   * By slot, 3 ints: [hash, bytes charged, reply bytes]. Then the table: 2 buckets a slot,
   * 2 ints a bucket: [hash, slot + 1] (0: empty). Linear probing at most half full.
   */
  meta: Int32Array;
  /** Slots - 1 (a power of two). */
  mask: number;
  /** Seq of the oldest slot held (live or dead). */
  head: number;
  /** Seq the next id gets. */
  tail: number;
  /** Slots before this seq have no reply kept (the user's strip cursor). */
  kept: number;
  /** Live ids. */
  live: number;
  bytes: number;
  /** The part of `bytes` that is replies. */
  replyBytes: number;
  /** Forgotten: dropped from the map of users; its arrays are let go. */
  gone: boolean;
}

export const MIN_SLOTS = 4;

export function createUserIds(user: string): UserIds {
  return {
    user,
    ids: new Array<string | undefined>(MIN_SLOTS).fill(undefined),
    replies: new Array<string | Promise<string> | null>(MIN_SLOTS).fill(null),
    at: new Float64Array(MIN_SLOTS),
    meta: new Int32Array(MIN_SLOTS * 7),
    mask: MIN_SLOTS - 1,
    head: 0,
    tail: 0,
    kept: 0,
    live: 0,
    bytes: 0,
    replyBytes: 0,
    gone: false,
  };
}

/** Lets go of a forgotten user's arrays (records of it may still point at the object). */
export function release(u: UserIds): void {
  u.gone = true;
  u.ids = [];
  u.replies = [];
  u.at = new Float64Array(0);
  u.meta = new Int32Array(0);
}

/**
 * A 32-bit hash of an id, seeded per cache so that ids crafted to collide in one process do not
 * collide in another. Even fully colliding ids only lengthen their own user's probes (at most
 * the window), and are told apart by comparing the strings.
 */
export function hashId(id: string, seed: number): number {
  let h = seed ^ id.length;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/** The slot holding `id` (whose hash is `h`), or -1. */
export function findSlot(u: UserIds, id: string, h: number): number {
  const meta = u.meta;
  const base = (u.mask + 1) * 3;
  const bmask = u.mask * 2 + 1;
  for (let b = h & bmask; ; b = (b + 1) & bmask) {
    const o = base + b * 2;
    const v = meta[o + 1] as number;
    if (v === 0) return -1;
    if (meta[o] === h && u.ids[v - 1] === id) return v - 1;
  }
}

/** The seq of the live id in `slot`. */
export const seqOf = (u: UserIds, slot: number): number => u.head + ((slot - u.head) & u.mask);

const tableInsert = (u: UserIds, h: number, slot: number) => {
  const meta = u.meta;
  const base = (u.mask + 1) * 3;
  const bmask = u.mask * 2 + 1;
  let b = h & bmask;
  while (meta[base + b * 2 + 1] !== 0) b = (b + 1) & bmask;
  meta[base + b * 2] = h;
  meta[base + b * 2 + 1] = slot + 1;
};

/** Removes the slot's bucket, shifting later buckets of the run back (no tombstones). */
const tableDelete = (u: UserIds, slot: number) => {
  const meta = u.meta;
  const base = (u.mask + 1) * 3;
  const bmask = u.mask * 2 + 1;
  let i = (meta[slot * 3] as number) & bmask;
  while (meta[base + i * 2 + 1] !== slot + 1) i = (i + 1) & bmask;
  for (let j = (i + 1) & bmask; meta[base + j * 2 + 1] !== 0; j = (j + 1) & bmask) {
    const home = (meta[base + j * 2] as number) & bmask;
    // A bucket whose home lies cyclically in (i, j] is still reachable: it stays.
    if (i <= j ? i < home && home <= j : i < home || home <= j) continue;
    meta[base + i * 2] = meta[base + j * 2] as number;
    meta[base + i * 2 + 1] = meta[base + j * 2 + 1] as number;
    i = j;
  }
  meta[base + i * 2] = 0;
  meta[base + i * 2 + 1] = 0;
};

/** Moves the held slots into a ring of `slots` slots (a power of two, >= tail - head). */
export function resize(u: UserIds, slots: number): void {
  const { ids, replies, at, meta, mask } = u;
  const nmask = slots - 1;
  u.ids = new Array<string | undefined>(slots).fill(undefined);
  u.replies = new Array<string | Promise<string> | null>(slots).fill(null);
  u.at = new Float64Array(slots);
  u.meta = new Int32Array(slots * 7);
  u.mask = nmask;
  for (let seq = u.head; seq < u.tail; seq++) {
    const s = seq & mask;
    const n = seq & nmask;
    u.at[n] = at[s] as number;
    u.meta[n * 3] = meta[s * 3] as number;
    u.meta[n * 3 + 1] = meta[s * 3 + 1] as number;
    u.meta[n * 3 + 2] = meta[s * 3 + 2] as number;
    const id = ids[s];
    if (id === undefined) continue;
    u.ids[n] = id;
    u.replies[n] = replies[s] as string | Promise<string> | null;
    tableInsert(u, meta[s * 3] as number, n);
  }
}

/** Adds an id at the tail (growing the ring when full) and returns its seq. */
export function append(
  u: UserIds,
  id: string,
  h: number,
  reply: string | Promise<string> | null,
  at: number,
  bytes: number,
  replyBytes: number,
): number {
  if (u.tail - u.head > u.mask) resize(u, (u.mask + 1) * 2);
  const s = u.tail & u.mask;
  u.ids[s] = id;
  u.replies[s] = reply;
  u.at[s] = at;
  u.meta[s * 3] = h;
  u.meta[s * 3 + 1] = bytes;
  u.meta[s * 3 + 2] = replyBytes;
  tableInsert(u, h, s);
  u.live++;
  return u.tail++;
}

/** Takes a live slot out of the table; the slot stays in the ring, dead, until the head passes it. */
export function unlink(u: UserIds, slot: number): void {
  tableDelete(u, slot);
  u.ids[slot] = undefined;
  u.replies[slot] = null;
  u.live--;
}

/** Whether `seq` names an id this user still holds. */
export const holds = (u: UserIds, seq: number): boolean =>
  !u.gone && seq >= u.head && seq < u.tail && u.ids[seq & u.mask] !== undefined;
