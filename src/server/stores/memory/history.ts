import { historyFrame, newEpoch } from '../history-frame.js';
import type { HistoryLimits, HistoryStore, PubSub } from '../types.js';

export interface MemoryHistoryOptions {
  /**
   * Most bytes of history kept across all channels of this process; past it the channel whose
   * history was touched longest ago loses all of it (its epoch changes). @default 67108864 (64 MiB)
   */
  historyMaxBytes?: number;
  /**
   * Most channels with a history position kept; past it, the least recently used goes.
   * @default 10000
   */
  historyMaxChannels?: number;
  /** Clock, injectable for tests. @default Date.now */
  now?: () => number;
}

interface Entry {
  frame: string;
  at: number;
}

interface Log {
  epoch: string;
  /** Offset of the last publication (0: none yet). */
  offset: number;
  entries: Entry[];
  bytes: number;
  /** The position is forgotten after this (ms): a long quiet channel starts a new epoch. */
  expiresAt: number;
}

/** How long a channel's position outlives its last publication: recovery across a quiet hour still works. */
export const POSITION_TTL_MS = 3_600_000;

/**
 * Channel history in this process. Each channel's epoch is random when its log is made, so a
 * restarted process (or a log dropped for the byte budget) never answers for one it lost.
 */
export function createMemoryHistory(pubsub: PubSub, options: MemoryHistoryOptions = {}): HistoryStore {
  const now = options.now ?? Date.now;
  const maxTotal = options.historyMaxBytes ?? 64 * 1024 * 1024;
  const maxChannels = options.historyMaxChannels ?? 10_000;
  // Insertion order is recency: a touched log is moved to the end.
  const logs = new Map<string, Log>();
  let total = 0;

  const drop = (channel: string, log: Log) => {
    logs.delete(channel);
    total -= log.bytes;
  };
  const trim = (log: Log, limits: HistoryLimits, t: number) => {
    const { entries } = log;
    let cut = 0;
    while (
      cut < entries.length &&
      (entries.length - cut > limits.size ||
        log.bytes > limits.maxBytes ||
        (entries[cut] as Entry).at + limits.ttlMs <= t)
    ) {
      const size = (entries[cut] as Entry).frame.length;
      log.bytes -= size;
      total -= size;
      cut++;
    }
    if (cut > 0) entries.splice(0, cut);
  };
  const touch = (channel: string, t: number): Log => {
    let log = logs.get(channel);
    if (log && log.expiresAt <= t) {
      drop(channel, log);
      log = undefined;
    }
    if (log) logs.delete(channel);
    else log = { epoch: newEpoch(), offset: 0, entries: [], bytes: 0, expiresAt: 0 };
    logs.set(channel, log);
    while (logs.size > maxChannels) {
      const [oldest, l] = logs.entries().next().value as [string, Log];
      drop(oldest, l);
    }
    return log;
  };

  return {
    append(channel, pubsubChannel, body, limits) {
      const t = now();
      const log = touch(channel, t);
      log.offset++;
      log.expiresAt = t + Math.max(limits.ttlMs, POSITION_TTL_MS);
      const frame = historyFrame(body, log.offset, log.epoch);
      log.entries.push({ frame, at: t });
      log.bytes += frame.length;
      total += frame.length;
      trim(log, limits, t);
      // The budget across channels: whole logs go, least recently used first (never the one just written).
      for (const [name, other] of logs) {
        if (total <= maxTotal || other === log) break;
        drop(name, other);
      }
      if (total > maxTotal)
        trim(log, { ...limits, maxBytes: Math.max(0, log.bytes - (total - maxTotal)) }, t);
      const position = { epoch: log.epoch, offset: log.offset };
      pubsub.publish(pubsubChannel, frame);
      return position;
    },
    read(channel, since, limits) {
      const t = now();
      const log = touch(channel, t);
      log.expiresAt = Math.max(log.expiresAt, t + Math.max(limits.ttlMs, POSITION_TTL_MS));
      trim(log, limits, t);
      const position = { epoch: log.epoch, offset: log.offset };
      if (!since) return { ...position, frames: undefined };
      if (since.epoch !== log.epoch || since.offset > log.offset) return { ...position, frames: undefined };
      const missed = log.offset - since.offset;
      if (missed > log.entries.length) return { ...position, frames: undefined };
      return { ...position, frames: log.entries.slice(log.entries.length - missed).map((e) => e.frame) };
    },
  };
}
