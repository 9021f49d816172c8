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
  /**
   * By slot, 2 refs: [id, reply]. id undefined: a free or dead (replaced) slot; reply null:
   * handled, reply not kept. One array, so a slot is one cache line, not one per field.
   */
  refs: (string | Promise<string> | null | undefined)[];
  /** By slot, 4 numbers: [first seen, hash, bytes charged, reply bytes]. */
  nums: Float64Array;
  /** 2 buckets a slot, 2 ints a bucket: [hash, slot + 1] (0: empty). Linear probing, at most half full. */
  table: Int32Array;
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

export const MIN_SLOTS = 2;

export function createUserIds(user: string): UserIds {
  return {
    user,
    refs: new Array<string | Promise<string> | null | undefined>(MIN_SLOTS * 2).fill(undefined),
    nums: new Float64Array(MIN_SLOTS * 4),
    table: new Int32Array(MIN_SLOTS * 4),
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
  u.refs = [];
  u.nums = new Float64Array(0);
  u.table = new Int32Array(0);
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
  const table = u.table;
  const bmask = u.mask * 2 + 1;
  for (let b = h & bmask; ; b = (b + 1) & bmask) {
    const v = table[b * 2 + 1] as number;
    if (v === 0) return -1;
    if (table[b * 2] === h && u.refs[(v - 1) * 2] === id) return v - 1;
  }
}

const tableInsert = (u: UserIds, h: number, slot: number) => {
  const table = u.table;
  const bmask = u.mask * 2 + 1;
  let b = h & bmask;
  while (table[b * 2 + 1] !== 0) b = (b + 1) & bmask;
  table[b * 2] = h;
  table[b * 2 + 1] = slot + 1;
};

/** Removes the slot's bucket, shifting later buckets of the run back (no tombstones). */
const tableDelete = (u: UserIds, slot: number) => {
  const table = u.table;
  const bmask = u.mask * 2 + 1;
  let i = (u.nums[slot * 4 + 1] as number) & bmask;
  while (table[i * 2 + 1] !== slot + 1) i = (i + 1) & bmask;
  for (let j = (i + 1) & bmask; table[j * 2 + 1] !== 0; j = (j + 1) & bmask) {
    const home = (table[j * 2] as number) & bmask;
    // A bucket whose home lies cyclically in (i, j] is still reachable: it stays.
    if (i <= j ? i < home && home <= j : i < home || home <= j) continue;
    table[i * 2] = table[j * 2] as number;
    table[i * 2 + 1] = table[j * 2 + 1] as number;
    i = j;
  }
  table[i * 2] = 0;
  table[i * 2 + 1] = 0;
};

/** Moves the held slots into a ring of `slots` slots (a power of two, >= tail - head). */
export function resize(u: UserIds, slots: number): void {
  const { refs, nums, mask } = u;
  const nmask = slots - 1;
  u.refs = new Array<string | Promise<string> | null | undefined>(slots * 2).fill(undefined);
  u.nums = new Float64Array(slots * 4);
  u.table = new Int32Array(slots * 4);
  u.mask = nmask;
  for (let seq = u.head; seq < u.tail; seq++) {
    const s = seq & mask;
    const n = seq & nmask;
    u.nums.set(nums.subarray(s * 4, s * 4 + 4), n * 4);
    const id = refs[s * 2];
    if (id === undefined) continue;
    u.refs[n * 2] = id;
    u.refs[n * 2 + 1] = refs[s * 2 + 1];
    tableInsert(u, nums[s * 4 + 1] as number, n);
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
  u.refs[s * 2] = id;
  u.refs[s * 2 + 1] = reply;
  u.nums[s * 4] = at;
  u.nums[s * 4 + 1] = h;
  u.nums[s * 4 + 2] = bytes;
  u.nums[s * 4 + 3] = replyBytes;
  tableInsert(u, h, s);
  u.live++;
  return u.tail++;
}

/** Takes a live slot out of the table; the slot stays in the ring, dead, until the head passes it. */
export function unlink(u: UserIds, slot: number): void {
  tableDelete(u, slot);
  u.refs[slot * 2] = undefined;
  u.refs[slot * 2 + 1] = undefined;
  u.live--;
}

/** Whether `seq` names an id this user still holds. */
export const holds = (u: UserIds, seq: number): boolean =>
  !u.gone && seq >= u.head && seq < u.tail && u.refs[(seq & u.mask) * 2] !== undefined;
