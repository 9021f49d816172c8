import {
  append,
  createUserIds,
  findSlot,
  hashId,
  holds,
  MIN_SLOTS,
  release,
  resize,
  type UserIds,
  unlink,
} from './dedupe-ring.js';

/**
 * Recent message ids per user, so that a message resent after a reconnect (same id, new
 * socket) is acked again and not handled again. Ids are the client's random keys, so keying
 * by user is enough to keep users apart: each user has its own table, equal ids of two users
 * never meet.
 *
 * An id is only worth remembering while its client may still resend it: until the client's ack
 * timeout. So every id expires `ttlMs` after it was first seen, and the cache holds what was
 * handled in the last `ttlMs` (at most `window` ids per user), not the last `window` ids of
 * every user ever seen.
 *
 * Replies are bounded in bytes too: a reply over `maxEntryBytes` is not kept, and a user over
 * `maxUserBytes` loses its oldest replies first. Over `maxBytes`, the oldest replies over all
 * users go first, in the order they arrived: a user who sent long ago loses its replies before
 * one who just sent, and no user pays for another's newer traffic. The id itself stays (a small
 * tombstone): a resend of it is still not handled again, it gets `null` here (the caller
 * answers `WSG_RESULT_EXPIRED`), so forgetting a result never runs a handler twice. Ids go only
 * when no reply is left to let go of, again oldest first.
 *
 * Layout: one ring per user (dedupe-ring.ts) and one arrival-order ring over all users holding
 * (user, seq, time) records. The expiry, the total budget and the least-recently-seen user are
 * all found from the oldest end of that ring in amortized O(1); records of ids dropped by other
 * means (window, user budget, replaced) are skipped there, and the ring is compacted when they
 * outnumber half the live ones.
 */
export interface DedupeCache {
  /**
   * The reply already sent (or on its way) for this id, if the id was seen within the TTL;
   * `null`: the id was handled but its reply is no longer kept.
   */
  get(userId: string, id: string): string | Promise<string> | null | undefined;
  set(userId: string, id: string, reply: string | Promise<string>): void;
  /** Drops expired ids, and users with none left (called on a timer). */
  sweep(now: number): void;
  readonly users: number;
  /** Ids remembered now, over all users. */
  readonly size: number;
  /** Estimated bytes held, over all users (ids, replies, bookkeeping). */
  readonly bytes: number;
}

export interface DedupeCacheOptions {
  window: number;
  ttlMs: number;
  maxUsers: number;
  /** Bytes one user's entries may hold. @default Infinity */
  maxUserBytes?: number;
  /** Bytes all entries may hold. @default Infinity */
  maxBytes?: number;
  /** A reply estimated above this many bytes is not kept (its id is). @default Infinity */
  maxEntryBytes?: number;
  now?: () => number;
  /** Seed of the id hash. @default random per cache */
  seed?: number;
}

/**
 * Estimated cost of an id beyond its strings: its slot in the user's ring and two table
 * buckets (52 bytes, the ring between half full and full) and its arrival record (24 bytes,
 * the records ring at most a third dead and between half full and full). Strings are counted at
 * 2 bytes a character (V8 keeps a string with any character above U+00FF in two-byte form;
 * telling them apart would cost a scan) plus a 16-byte header.
 */
const ENTRY_OVERHEAD = 112;
/** A replaced id's slot, held until the head of its user's ring passes it. */
const DEAD_SLOT = 48;
const stringBytes = (s: string) => 16 + s.length * 2;
const MIN_RECORDS = 1024;

export function createDedupeCache(options: DedupeCacheOptions): DedupeCache {
  const { window, ttlMs, maxUsers } = options;
  const maxUserBytes = options.maxUserBytes ?? Number.POSITIVE_INFINITY;
  const maxBytes = options.maxBytes ?? Number.POSITIVE_INFINITY;
  const maxEntryBytes = options.maxEntryBytes ?? Number.POSITIVE_INFINITY;
  const now = options.now ?? Date.now;
  const seed = options.seed ?? (Math.random() * 0x100000000) | 0;
  const byUser = new Map<string, UserIds>();
  let size = 0;
  let total = 0;
  /** Reply bytes over all users: 0 means the budget can only be met by dropping ids. */
  let replyTotal = 0;

  // The arrival-order records: positions only grow (index = position & rMask).
  let rUser: (UserIds | undefined)[] = new Array<UserIds | undefined>(MIN_RECORDS).fill(undefined);
  let rSeq = new Float64Array(MIN_RECORDS);
  let rAt = new Float64Array(MIN_RECORDS);
  let rMask = MIN_RECORDS - 1;
  let rHead = 0;
  let rTail = 0;
  /** Records before it have no reply left to strip (the total budget's cursor). */
  let stripAt = 0;
  /** Records before it are not the newest of a remembered user (the maxUsers cursor). */
  let lruAt = 0;

  const liveRecord = (p: number) => {
    const u = rUser[p & rMask];
    return u !== undefined && holds(u, rSeq[p & rMask] as number);
  };
  const moveRecords = (slots: number) => {
    const [user, seqs, ats, mask] = [rUser, rSeq, rAt, rMask];
    rUser = new Array<UserIds | undefined>(slots).fill(undefined);
    rSeq = new Float64Array(slots);
    rAt = new Float64Array(slots);
    rMask = slots - 1;
    for (let p = rHead; p < rTail; p++) {
      rUser[p & rMask] = user[p & mask];
      rSeq[p & rMask] = seqs[p & mask] as number;
      rAt[p & rMask] = ats[p & mask] as number;
    }
  };
  /** Drops the records of ids no longer held, keeping the order and the cursors' meaning. */
  const compact = () => {
    let w = rHead;
    let strip = -1;
    let lru = -1;
    for (let p = rHead; p < rTail; p++) {
      if (p === stripAt) strip = w;
      if (p === lruAt) lru = w;
      if (!liveRecord(p)) continue;
      rUser[w & rMask] = rUser[p & rMask];
      rSeq[w & rMask] = rSeq[p & rMask] as number;
      rAt[w & rMask] = rAt[p & rMask] as number;
      w++;
    }
    for (let p = w; p < rTail; p++) rUser[p & rMask] = undefined;
    stripAt = stripAt >= rTail ? w : Math.max(strip, rHead);
    lruAt = lruAt >= rTail ? w : Math.max(lru, rHead);
    rTail = w;
  };
  const popHead = () => {
    rUser[rHead & rMask] = undefined;
    rHead++;
  };
  /**
   * Keeps the records ring no sparser than a third dead, and its positions small. Dead records
   * at the head are not popped one by one here: that would load a cold user every message.
   */
  const tidy = () => {
    if (rTail - rHead > size + (size >> 1) + 64) compact();
    if (stripAt < rHead) stripAt = rHead;
    if (lruAt < rHead) lruAt = rHead;
    if (rHead >= 0x40000000) {
      const d = rHead - (rHead & rMask);
      rHead -= d;
      rTail -= d;
      stripAt -= d;
      lruAt -= d;
    }
  };
  const record = (u: UserIds, seq: number, t: number) => {
    if (rTail - rHead > rMask) {
      compact();
      if (rTail - rHead > rMask - (rMask >> 2)) moveRecords((rMask + 1) * 2);
    }
    const p = rTail++ & rMask;
    rUser[p] = u;
    rSeq[p] = seq;
    rAt[p] = t;
  };

  const charge = (u: UserIds, slot: number, bytes: number, replyBytes: number) => {
    u.nums[slot * 4 + 2] = (u.nums[slot * 4 + 2] as number) + bytes;
    u.nums[slot * 4 + 3] = (u.nums[slot * 4 + 3] as number) + replyBytes;
    u.bytes += bytes;
    total += bytes;
    u.replyBytes += replyBytes;
    replyTotal += replyBytes;
  };
  /** Lets go of the slot's reply (a pending one too: it is not kept when it settles), keeps its id. */
  const strip = (u: UserIds, slot: number) => {
    if (u.refs[slot * 2 + 1] === null) return;
    u.refs[slot * 2 + 1] = null;
    const had = u.nums[slot * 4 + 3] as number;
    charge(u, slot, -had, -had);
  };
  const remove = (u: UserIds, slot: number) => {
    charge(u, slot, -(u.nums[slot * 4 + 2] as number), -(u.nums[slot * 4 + 3] as number));
    unlink(u, slot);
    size--;
  };
  /** Moves the user's head past dead slots, giving their bytes back. */
  const skipDead = (u: UserIds) => {
    while (u.head < u.tail && u.refs[(u.head & u.mask) * 2] === undefined) {
      const slot = u.head++ & u.mask;
      charge(u, slot, -(u.nums[slot * 4 + 2] as number), 0);
    }
    if (u.kept < u.head) u.kept = u.head;
  };
  const dropOldest = (u: UserIds) => {
    skipDead(u);
    if (u.head === u.tail) return;
    remove(u, u.head++ & u.mask);
    skipDead(u);
  };
  const forget = (u: UserIds) => {
    byUser.delete(u.user);
    size -= u.live;
    total -= u.bytes;
    replyTotal -= u.replyBytes;
    release(u);
  };
  /** Lets go of the user's oldest replies, then ids, until its bytes are at most `limit`. */
  const shrink = (u: UserIds, limit: number) => {
    if (u.kept < u.head) u.kept = u.head;
    while (u.bytes > limit && u.kept < u.tail) strip(u, u.kept++ & u.mask);
    while (u.bytes > limit && u.live > 0) dropOldest(u);
  };
  /**
   * The oldest held record is its user's oldest held id (records are in arrival order and a
   * user's ids leave oldest first), so dropping it is `dropOldest` of that user.
   */
  const dropHead = () => {
    const u = rUser[rHead & rMask];
    if (u !== undefined && holds(u, rSeq[rHead & rMask] as number)) {
      dropOldest(u);
      if (u.live === 0) forget(u);
    }
    popHead();
  };
  const shrinkTotal = () => {
    if (stripAt < rHead) stripAt = rHead;
    while (total > maxBytes && replyTotal > 0 && stripAt < rTail) {
      const u = rUser[stripAt & rMask];
      const seq = rSeq[stripAt++ & rMask] as number;
      if (u !== undefined && holds(u, seq)) strip(u, seq & u.mask);
    }
    while (total > maxBytes && rHead < rTail) dropHead();
  };
  // Records are in arrival order: the first one within the TTL ends the expiry, held or not.
  const expire = (t: number) => {
    while (rHead < rTail && t - (rAt[rHead & rMask] as number) >= ttlMs) dropHead();
  };
  /** Forgets the user seen longest ago: the first record that is its user's newest. */
  const forgetLeastRecent = () => {
    if (lruAt < rHead) lruAt = rHead;
    for (; lruAt < rTail; lruAt++) {
      const u = rUser[lruAt & rMask];
      if (u !== undefined && !u.gone && rSeq[lruAt & rMask] === u.tail - 1) {
        forget(u);
        lruAt++;
        return;
      }
    }
  };
  const fits = (reply: string) => stringBytes(reply) <= maxEntryBytes;
  const settle = (u: UserIds, seq: number, pending: Promise<string>) => {
    const mine = () => holds(u, seq) && u.refs[(seq & u.mask) * 2 + 1] === pending;
    pending.then(
      (frame) => {
        // Replaced, stripped, expired or the user forgotten meanwhile: nothing to keep.
        if (!mine()) return;
        const slot = seq & u.mask;
        if (typeof frame !== 'string' || !fits(frame)) {
          u.refs[slot * 2 + 1] = null;
          return;
        }
        u.refs[slot * 2 + 1] = frame;
        charge(u, slot, stringBytes(frame), stringBytes(frame));
        if (u.bytes > maxUserBytes) shrink(u, maxUserBytes);
        if (total > maxBytes) shrinkTotal();
        if (!u.gone && u.live === 0) forget(u);
      },
      () => {
        if (mine()) u.refs[(seq & u.mask) * 2 + 1] = null;
      },
    );
  };

  // dispatch asks get() and then set() for the same user and id: looked up and hashed once.
  let lastId: string | undefined;
  let lastHash = 0;
  const hashOf = (id: string) => {
    if (id !== lastId) {
      lastId = id;
      lastHash = hashId(id, seed);
    }
    return lastHash;
  };
  let lastUser: UserIds | undefined;
  const userOf = (userId: string) => {
    if (lastUser !== undefined && lastUser.user === userId && !lastUser.gone) return lastUser;
    const u = byUser.get(userId);
    if (u !== undefined) lastUser = u;
    return u;
  };

  return {
    get(userId, id) {
      if (window === 0) return undefined;
      const u = userOf(userId);
      if (u === undefined) return undefined;
      const slot = findSlot(u, id, hashOf(id));
      return slot >= 0 && now() - (u.nums[slot * 4] as number) < ttlMs
        ? (u.refs[slot * 2 + 1] as string | Promise<string> | null)
        : undefined;
    },
    set(userId, id, reply) {
      if (window === 0) return;
      const t = now();
      let u = userOf(userId);
      if (u === undefined) {
        if (byUser.size >= maxUsers) forgetLeastRecent();
        u = createUserIds(userId);
        byUser.set(userId, u);
        lastUser = u;
      }
      const h = hashOf(id);
      const had = findSlot(u, id, h);
      if (had >= 0) {
        // Replaced: its slot stays, dead, until the head of the ring passes it.
        remove(u, had);
        charge(u, had, DEAD_SLOT, 0);
        skipDead(u);
      }
      const isString = typeof reply === 'string';
      const kept = isString ? (fits(reply) ? reply : null) : reply;
      const replyBytes = typeof kept === 'string' ? stringBytes(kept) : 0;
      const bytes = ENTRY_OVERHEAD + stringBytes(id) + replyBytes;
      const seq = append(u, id, h, kept, t, 0, 0);
      charge(u, seq & u.mask, bytes, replyBytes);
      size++;
      record(u, seq, t);
      if (!isString) settle(u, seq, reply);
      if (u.live > window) dropOldest(u);
      if (u.bytes > maxUserBytes) shrink(u, maxUserBytes);
      if (total > maxBytes) shrinkTotal();
      if (!u.gone && u.live === 0) forget(u);
      expire(t);
      tidy();
    },
    sweep(t) {
      expire(t);
      tidy();
      if (rMask >= MIN_RECORDS && (rTail - rHead) * 8 < rMask) moveRecords((rMask + 1) / 2);
      // A user whose burst has expired gives back the ring it grew for it.
      for (const u of byUser.values()) {
        const held = u.tail - u.head;
        if (u.mask >= MIN_SLOTS && held * 4 <= u.mask) {
          let slots = MIN_SLOTS;
          while (slots < held * 2) slots *= 2;
          resize(u, slots);
        }
      }
    },
    get users() {
      return byUser.size;
    },
    get size() {
      return size;
    },
    get bytes() {
      return total;
    },
  };
}
