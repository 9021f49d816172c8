import { WsgError } from '../../errors.js';
import { newEpoch } from '../history-frame.js';
import { POSITION_TTL_MS } from '../memory/history.js';
import type { HistoryStore, PresenceStore } from '../types.js';
import {
  HISTORY_APPEND,
  HISTORY_READ,
  PRESENCE_ADD,
  PRESENCE_GET,
  PRESENCE_REFRESH,
  PRESENCE_REMOVE,
} from './channel-scripts.js';
import type { RedisLink } from './link.js';

type Call = (...args: (string | number)[]) => Promise<unknown>;

/**
 * Channel history (a capped list plus a hash per channel, trimmed by count, bytes and age in
 * the same Lua step that appends and publishes) and presence (a hash per channel) in Redis.
 * Neither has a local fallback: history made on one node alone would give recovery answers the
 * other nodes contradict, so while Redis is unreachable appends, reads and presence fail and
 * the caller answers `recovered: false` or skips presence.
 */
export function createRedisChannelState(
  link: RedisLink,
  historyMaxBytes: number,
): { history: HistoryStore; presence: PresenceStore } {
  const { client, prefix } = link;
  const scripts = {
    wsgHistAppend: [2, HISTORY_APPEND],
    wsgHistRead: [2, HISTORY_READ],
    wsgPresAdd: [1, PRESENCE_ADD],
    wsgPresRemove: [1, PRESENCE_REMOVE],
    wsgPresRefresh: [1, PRESENCE_REFRESH],
    wsgPresGet: [1, PRESENCE_GET],
  } as const;
  for (const [name, [numberOfKeys, lua]] of Object.entries(scripts)) {
    client.defineCommand(name, { numberOfKeys, lua });
  }
  const call = (name: keyof typeof scripts, ...args: (string | number)[]): Promise<unknown> => {
    if (!link.usable())
      return Promise.reject(new WsgError('WSG_OVERLOADED', { detail: 'store unavailable' }));
    return ((client as unknown as Record<string, Call>)[name] as Call).call(client, ...args);
  };
  const base = `${prefix}hist:`;
  const log = (channel: string) => `${base}log:${channel}`;
  const meta = (channel: string) => `${base}meta:${channel}`;
  const presence = (channel: string) => `${prefix}pres:${channel}`;
  const metaTtl = (ttlMs: number) => Math.max(ttlMs, POSITION_TTL_MS);

  return {
    history: {
      async append(channel, pubsubChannel, body, limits) {
        const [epoch, offset] = (await call(
          'wsgHistAppend',
          log(channel),
          meta(channel),
          base,
          channel,
          body,
          limits.size,
          limits.ttlMs,
          limits.maxBytes,
          newEpoch(),
          prefix + pubsubChannel,
          metaTtl(limits.ttlMs),
          historyMaxBytes,
        )) as [string, number];
        return { epoch, offset: Number(offset) };
      },
      async read(channel, since, limits) {
        const [epoch, offset, recovered, entries] = (await call(
          'wsgHistRead',
          log(channel),
          meta(channel),
          base,
          channel,
          since?.epoch ?? '',
          since?.offset ?? 0,
          limits.ttlMs,
          newEpoch(),
          metaTtl(limits.ttlMs),
        )) as [string, number, number, string[]];
        const position = { epoch, offset: Number(offset) };
        if (!since || recovered !== 1) return { ...position, frames: undefined };
        return { ...position, frames: entries.map((e) => e.slice(e.indexOf(' ') + 1)) };
      },
    },
    presence: {
      async presenceAdd(channel, userId, nodeId, ttlMs) {
        return (await call('wsgPresAdd', presence(channel), userId, nodeId, ttlMs)) === 1;
      },
      async presenceRemove(channel, userId, nodeId) {
        return (await call('wsgPresRemove', presence(channel), userId, nodeId)) === 1;
      },
      async presenceRefresh(channel, userIds, nodeId, ttlMs) {
        return (await call('wsgPresRefresh', presence(channel), nodeId, ttlMs, ...userIds)) as string[];
      },
      async presenceGet(channel, max) {
        const [count, members] = (await call('wsgPresGet', presence(channel), max)) as [number, string[]];
        return { count: Number(count), members };
      },
    },
  };
}
