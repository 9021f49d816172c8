export type OverflowPolicy = 'reject-new' | 'drop-oldest';

export interface QueueLimits {
  maxMessages: number;
  maxBytes: number;
  ttlMs: number;
  overflow: OverflowPolicy;
}

/** What the queue needs to know of an item. */
export interface Queued {
  readonly bytes: number;
  readonly enqueuedAt: number;
}

export interface PushResult<T> {
  /** False when the new item was refused (it is not in the queue). */
  accepted: boolean;
  /** Older items pushed out to make room (`drop-oldest`). */
  dropped: T[];
}

/** Messages waiting for a connection: FIFO, bounded by count and bytes, each with a TTL. */
export interface MessageQueue<T extends Queued> {
  push(item: T): PushResult<T>;
  shift(): T | undefined;
  /** The head, left in place. */
  peek(): T | undefined;
  /** Removes and returns the items older than the TTL at `now`. */
  expire(now: number): T[];
  /** When the oldest item expires, if any. */
  nextExpiry(): number | undefined;
  /** Empties the queue, returning what it held in order. */
  drain(): T[];
  readonly size: number;
  readonly bytes: number;
}

export function checkQueueLimits(limits: QueueLimits): void {
  const { maxMessages, maxBytes, ttlMs, overflow } = limits;
  if (!(Number.isInteger(maxMessages) && maxMessages >= 0)) {
    throw new TypeError(`queue.maxMessages must be an integer >= 0, got ${maxMessages}`);
  }
  if (!(maxBytes >= 0)) throw new TypeError(`queue.maxBytes must be >= 0, got ${maxBytes}`);
  if (!(ttlMs > 0)) throw new TypeError(`queue.ttlMs must be > 0, got ${ttlMs}`);
  if (overflow !== 'reject-new' && overflow !== 'drop-oldest') {
    throw new TypeError(`queue.overflow must be 'reject-new' or 'drop-oldest', got ${String(overflow)}`);
  }
}

export function createMessageQueue<T extends Queued>(limits: QueueLimits): MessageQueue<T> {
  const items: T[] = [];
  let bytes = 0;
  const fits = (item: T) => items.length + 1 <= limits.maxMessages && bytes + item.bytes <= limits.maxBytes;
  const take = () => {
    const item = items.shift();
    if (item) bytes -= item.bytes;
    return item;
  };
  return {
    push(item) {
      const dropped: T[] = [];
      // An item that could never fit is refused whatever the policy: dropping the whole
      // queue for it would lose everything and still not make room.
      if (item.bytes > limits.maxBytes || limits.maxMessages === 0) return { accepted: false, dropped };
      if (!fits(item)) {
        if (limits.overflow === 'reject-new') return { accepted: false, dropped };
        while (items.length > 0 && !fits(item)) dropped.push(take() as T);
      }
      items.push(item);
      bytes += item.bytes;
      return { accepted: true, dropped };
    },
    shift: take,
    peek: () => items[0],
    expire(now) {
      const out: T[] = [];
      while (items.length > 0 && now - (items[0] as T).enqueuedAt >= limits.ttlMs) out.push(take() as T);
      return out;
    },
    nextExpiry() {
      const head = items[0];
      return head === undefined ? undefined : head.enqueuedAt + limits.ttlMs;
    },
    drain() {
      const out = items.splice(0);
      bytes = 0;
      return out;
    },
    get size() {
      return items.length;
    },
    get bytes() {
      return bytes;
    },
  };
}
