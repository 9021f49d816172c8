/**
 * Recent message ids per user, so that a message resent after a reconnect (same id, new
 * socket) is acked again and not handled again. Ids are the client's random keys, so keying
 * by user is enough to keep users apart.
 *
 * An id is only worth remembering while its client may still resend it: until the client's ack
 * timeout. So every id expires `ttlMs` after it was first seen, and the cache holds what was
 * handled in the last `ttlMs` (at most `window` ids per user), not the last `window` ids of
 * every user ever seen.
 *
 * Replies are bounded in bytes too: a reply over `maxEntryBytes` is not kept, and a user over
 * `maxUserBytes` (or everyone over `maxBytes`) loses the oldest replies first. The id itself
 * stays (a small tombstone): a resend of it is still not handled again, it gets `null` here
 * (the caller answers `WSG_RESULT_EXPIRED`), so forgetting a result never runs a handler twice.
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
}

/**
 * Estimated cost of an entry beyond its strings: the entry object, its Map slot, its queue slot.
 * Strings are counted at 2 bytes a character (V8 keeps a string with any character above
 * U+00FF in two-byte form; telling them apart would cost a scan) plus a 16-byte header.
 */
const ENTRY_OVERHEAD = 112;
const stringBytes = (s: string) => 16 + s.length * 2;

interface Entry {
  readonly id: string;
  /** null: handled, reply not kept. */
  reply: string | Promise<string> | null;
  readonly at: number;
  /** This entry's share of the byte counts. */
  bytes: number;
  /** Replaced by a newer entry for the same id (it stays in the queue until it reaches the front). */
  dead: boolean;
}

/**
 * One user's ids: an index by id, and the same entries in a queue in first-seen order, so the
 * oldest is found without a Map iterator. A message costs one index lookup and one insert; the
 * queue is an array with a moving head, compacted when the head has passed half of it.
 */
interface UserIds {
  readonly index: Map<string, Entry>;
  queue: Entry[];
  head: number;
  /** Entries before this position have no reply kept (stripping goes oldest first). */
  kept: number;
  bytes: number;
  /** The part of `bytes` that is replies (what stripping can give back). */
  replyBytes: number;
  /** Forgotten (dropped from the map of users). */
  gone: boolean;
}

export function createDedupeCache(options: DedupeCacheOptions): DedupeCache {
  const { window, ttlMs, maxUsers } = options;
  const maxUserBytes = options.maxUserBytes ?? Number.POSITIVE_INFINITY;
  const maxBytes = options.maxBytes ?? Number.POSITIVE_INFINITY;
  const maxEntryBytes = options.maxEntryBytes ?? Number.POSITIVE_INFINITY;
  const now = options.now ?? Date.now;
  // The map of users is in least-recently-seen order (a user moves to the end on every new id),
  // so the user dropped at maxUsers is the one seen longest ago. The move is skipped when the
  // user is already last: a busy user's messages do not churn the map.
  const byUser = new Map<string, UserIds>();
  let last: string | undefined;
  let size = 0;
  let total = 0;
  /** Reply bytes over all users: 0 means the budget can only be met by dropping ids. */
  let replyTotal = 0;

  const charge = (ids: UserIds, e: Entry, bytes: number) => {
    e.bytes += bytes;
    ids.bytes += bytes;
    total += bytes;
  };
  const chargeReply = (ids: UserIds, bytes: number) => {
    ids.replyBytes += bytes;
    replyTotal += bytes;
  };
  /** Lets go of the entry's reply, keeps its id. */
  const strip = (ids: UserIds, e: Entry) => {
    if (e.reply === null) return;
    const had = typeof e.reply === 'string' ? stringBytes(e.reply) : 0;
    e.reply = null;
    charge(ids, e, -had);
    chargeReply(ids, -had);
  };
  const remove = (ids: UserIds, e: Entry) => {
    ids.index.delete(e.id);
    size--;
    if (typeof e.reply === 'string') chargeReply(ids, -stringBytes(e.reply));
    charge(ids, e, -e.bytes);
  };
  const dropOldest = (ids: UserIds) => {
    while (ids.head < ids.queue.length) {
      const e = ids.queue[ids.head] as Entry;
      ids.queue[ids.head++] = undefined as unknown as Entry;
      if (!e.dead) {
        remove(ids, e);
        break;
      }
    }
    if (ids.kept < ids.head) ids.kept = ids.head;
  };
  const compact = (ids: UserIds) => {
    if (ids.head >= 64 && ids.head * 2 >= ids.queue.length) {
      ids.queue = ids.queue.slice(ids.head);
      ids.kept -= ids.head;
      ids.head = 0;
    }
  };
  const forget = (user: string, ids: UserIds) => {
    byUser.delete(user);
    ids.gone = true;
    size -= ids.index.size;
    total -= ids.bytes;
    replyTotal -= ids.replyBytes;
    if (last === user) last = undefined;
  };
  /** Lets go of the user's oldest replies until its bytes are at most `limit`. */
  const stripUntil = (ids: UserIds, limit: number) => {
    if (ids.kept < ids.head) ids.kept = ids.head;
    while (ids.bytes > limit && ids.kept < ids.queue.length) {
      const e = ids.queue[ids.kept++] as Entry;
      if (!e.dead) strip(ids, e);
    }
  };
  const shrink = (ids: UserIds, limit: number) => {
    stripUntil(ids, limit);
    while (ids.bytes > limit && ids.head < ids.queue.length) dropOldest(ids);
  };
  /**
   * Over the total: the users seen longest ago lose their replies first; their ids (what keeps
   * a handler from running twice, ~150 bytes each) go only when no reply is left to let go of.
   *
   * The replies are taken from a cursor over the users in least-recently-seen order that stays
   * where it stopped: every user before it has no reply left (a user seen again moves behind
   * it, to the end), so each call resumes at the next user with replies instead of walking
   * past every stripped one again, which made a message cost O(users) once the budget was
   * reached. A reply that settles for a user the cursor has passed is let go of after the
   * others, when the cursor comes round again.
   */
  let cursor: Iterator<UserIds> | undefined;
  let at: UserIds | undefined;
  const stripReplies = () => {
    let wrapped = false;
    while (total > maxBytes && replyTotal > 0) {
      if (at === undefined || at.gone || at.replyBytes === 0) {
        const next = cursor?.next();
        if (next === undefined || next.done === true) {
          if (wrapped) return;
          wrapped = true;
          cursor = byUser.values();
          at = undefined;
        } else at = next.value;
        continue;
      }
      const before = replyTotal;
      stripUntil(at, Math.max(0, at.bytes - (total - maxBytes)));
      // Nothing could be let go of (never expected): the ids are dropped instead, below.
      if (replyTotal === before) return;
    }
  };
  const shrinkTotal = () => {
    stripReplies();
    for (const [user, ids] of byUser) {
      if (total <= maxBytes) return;
      shrink(ids, Math.max(0, ids.bytes - (total - maxBytes)));
      // Not left for the next call to walk past: a user with no id has nothing to remember.
      if (ids.index.size === 0) forget(user, ids);
    }
  };
  const expire = (user: string, ids: UserIds, t: number) => {
    while (ids.head < ids.queue.length) {
      const e = ids.queue[ids.head] as Entry;
      if (e.dead) {
        // Skipped here, not by dropOldest: that would drop the next live entry, however fresh.
        ids.queue[ids.head++] = undefined as unknown as Entry;
        continue;
      }
      if (t - e.at < ttlMs) break;
      dropOldest(ids);
    }
    if (ids.kept < ids.head) ids.kept = ids.head;
    compact(ids);
    if (ids.index.size === 0) forget(user, ids);
  };
  const replyBytesFits = (reply: string) => stringBytes(reply) <= maxEntryBytes;
  const settle = (userId: string, ids: UserIds, e: Entry, pending: Promise<string>) => {
    pending.then(
      (frame) => {
        // Replaced, stripped, expired or the user forgotten meanwhile: nothing to keep.
        if (e.reply !== pending || e.dead || byUser.get(userId) !== ids || ids.index.get(e.id) !== e) return;
        if (typeof frame !== 'string' || !replyBytesFits(frame)) {
          e.reply = null;
          return;
        }
        e.reply = frame;
        charge(ids, e, stringBytes(frame));
        chargeReply(ids, stringBytes(frame));
        if (ids.bytes > maxUserBytes) shrink(ids, maxUserBytes);
        if (total > maxBytes) shrinkTotal();
      },
      () => {
        if (e.reply === pending) e.reply = null;
      },
    );
  };

  return {
    get(userId, id) {
      if (window === 0) return undefined;
      const e = byUser.get(userId)?.index.get(id);
      return e !== undefined && now() - e.at < ttlMs ? e.reply : undefined;
    },
    set(userId, id, reply) {
      if (window === 0) return;
      const t = now();
      let ids = byUser.get(userId);
      if (ids) {
        if (last !== userId) {
          byUser.delete(userId);
          byUser.set(userId, ids);
          // Now the most recently seen: the strip cursor meets it again at the end, not here.
          if (ids === at) at = undefined;
        }
      } else {
        if (byUser.size >= maxUsers) {
          const oldest = byUser.entries().next().value;
          if (oldest !== undefined) forget(oldest[0], oldest[1]);
        }
        ids = { index: new Map(), queue: [], head: 0, kept: 0, bytes: 0, replyBytes: 0, gone: false };
        byUser.set(userId, ids);
      }
      last = userId;
      const had = ids.index.get(id);
      if (had !== undefined) {
        had.dead = true;
        remove(ids, had);
        had.reply = null;
      }
      size++;
      const isString = typeof reply === 'string';
      const kept = isString ? (replyBytesFits(reply) ? reply : null) : reply;
      const e: Entry = { id, reply: kept, at: t, bytes: 0, dead: false };
      const replyBytes = typeof kept === 'string' ? stringBytes(kept) : 0;
      charge(ids, e, ENTRY_OVERHEAD + stringBytes(id) + replyBytes);
      chargeReply(ids, replyBytes);
      ids.index.set(id, e);
      ids.queue.push(e);
      if (!isString) settle(userId, ids, e, reply);
      if (ids.index.size > window) dropOldest(ids);
      if (ids.bytes > maxUserBytes) shrink(ids, maxUserBytes);
      if (total > maxBytes) shrinkTotal();
      expire(userId, ids, t);
    },
    sweep(t) {
      for (const [user, ids] of byUser) expire(user, ids, t);
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
