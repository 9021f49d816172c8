import { randomBytes } from 'node:crypto';
import { WsgConfigError } from '../errors.js';
import { offsetOf } from '../stores/history-frame.js';
import type {
  HistoryLimits,
  HistoryPosition,
  HistoryRead,
  HistoryStore,
  PresenceStore,
} from '../stores/types.js';
import type { ChannelMatch } from './patterns.js';
import { CHANNEL_PREFIX, type Member, type Registry, unsubscribedFrame } from './registry.js';
import type { ChannelOptions } from './types.js';

/** Defaults of a channel's `history` and `presence` options (docs/channels.md). */
export const STREAM_DEFAULTS = {
  history: { size: 100, ttlMs: 120_000, maxBytes: 1024 * 1024 },
  maxHistorySize: 10_000,
  presence: { maxMembers: 100, ttlMs: 15_000 },
} as const;

interface PresenceLimits {
  maxMembers: number;
  ttlMs: number;
}

type Config = ChannelOptions<never>;

const positiveInt = (v: unknown, min: number) => typeof v === 'number' && Number.isInteger(v) && v >= min;

/** The history bounds of a channel config, or undefined without history; throws on bad values. */
export function historyLimits(pattern: string, config: Config): HistoryLimits | undefined {
  const h = config.history;
  if (h === undefined || h === false) return undefined;
  const o = h === true ? {} : h;
  const limits = { ...STREAM_DEFAULTS.history, ...o };
  if (
    !positiveInt(limits.size, 1) ||
    limits.size > STREAM_DEFAULTS.maxHistorySize ||
    !positiveInt(limits.ttlMs, 1) ||
    !positiveInt(limits.maxBytes, 1)
  ) {
    throw new WsgConfigError(
      'WSG_CONFIG_INVALID_CHANNEL',
      `channels['${pattern}'].history: size 1..10000, ttlMs and maxBytes positive integers`,
    );
  }
  return limits;
}

export function presenceLimits(pattern: string, config: Config): PresenceLimits | undefined {
  const p = config.presence;
  if (p === undefined || p === false) return undefined;
  const limits = { ...STREAM_DEFAULTS.presence, ...(p === true ? {} : p) };
  if (!positiveInt(limits.maxMembers, 0) || !positiveInt(limits.ttlMs, 30)) {
    throw new WsgConfigError(
      'WSG_CONFIG_INVALID_CHANNEL',
      `channels['${pattern}'].presence: maxMembers >= 0 and ttlMs >= 30 integers`,
    );
  }
  return limits;
}

const presenceFrame = (channel: string, kind: 'joined' | 'left', userIds: string[]) =>
  `{"type":"presence","channel":"${channel}","${kind}":${JSON.stringify(userIds.map((userId) => ({ userId })))}}`;

export interface StreamDeps {
  registry: Registry;
  history: HistoryStore | undefined;
  presence: PresenceStore | undefined;
  declared: Record<string, Config>;
  publish(channel: string, frame: string): unknown;
  /** A store failure, for the logs: the request still gets its answer. */
  failed(detail: string): void;
}

/**
 * History and presence of channels that have them: numbered publications, the subscribe that
 * answers with a position (and replays from `since`), and the members per channel with the
 * timer that renews this node's marks and reports the members of dead nodes as left.
 */
export function createStreams(deps: StreamDeps) {
  const { registry, history, presence } = deps;
  const historyOf = new Map<string, HistoryLimits>();
  const presenceOf = new Map<string, PresenceLimits>();
  for (const [pattern, config] of Object.entries(deps.declared)) {
    const h = historyLimits(pattern, config);
    const p = presenceLimits(pattern, config);
    if (h) {
      if (!history)
        throw new WsgConfigError(
          'WSG_CONFIG_INVALID_CHANNEL',
          `channels['${pattern}'].history: the store keeps no history`,
        );
      historyOf.set(pattern, h);
    }
    if (p) {
      if (!presence)
        throw new WsgConfigError(
          'WSG_CONFIG_INVALID_CHANNEL',
          `channels['${pattern}'].presence: the store has no presence`,
        );
      presenceOf.set(pattern, p);
    }
  }
  const nodeId = randomBytes(9).toString('base64url');
  /** Local members per presence channel: user -> sockets of it subscribed here. */
  const local = new Map<string, { ttlMs: number; users: Map<string, number> }>();

  const announce = (channel: string, kind: 'joined' | 'left', userIds: string[]) => {
    if (userIds.length > 0)
      void Promise.resolve(deps.publish(channel, presenceFrame(channel, kind, userIds))).catch(() => {});
  };

  const join = async (member: Member, channel: string, limits: PresenceLimits) => {
    const userId = member.user?.id;
    if (userId === undefined || !presence) return;
    let entry = local.get(channel);
    if (!entry) {
      entry = { ttlMs: limits.ttlMs, users: new Map() };
      local.set(channel, entry);
    }
    const n = entry.users.get(userId) ?? 0;
    entry.users.set(userId, n + 1);
    if (n > 0) return;
    if (await presence.presenceAdd(channel, userId, nodeId, limits.ttlMs))
      announce(channel, 'joined', [userId]);
  };

  const leave = (member: Member, channel: string) => {
    const entry = local.get(channel);
    const userId = member.user?.id;
    if (!entry || userId === undefined || !presence) return;
    const n = entry.users.get(userId);
    if (n === undefined) return;
    if (n > 1) {
      entry.users.set(userId, n - 1);
      return;
    }
    entry.users.delete(userId);
    if (entry.users.size === 0) local.delete(channel);
    Promise.resolve(presence.presenceRemove(channel, userId, nodeId)).then(
      (gone) => gone && announce(channel, 'left', [userId]),
      (err: unknown) => deps.failed(`presence remove: ${String(err)}`),
    );
  };

  const refresh = () => {
    if (!presence) return;
    for (const [channel, entry] of local) {
      Promise.resolve(presence.presenceRefresh(channel, [...entry.users.keys()], nodeId, entry.ttlMs)).then(
        (left) => announce(channel, 'left', left),
        (err: unknown) => deps.failed(`presence refresh: ${String(err)}`),
      );
    }
  };
  let timer: NodeJS.Timeout | undefined;
  if (presenceOf.size > 0) {
    const every = Math.max(10, Math.floor(Math.min(...[...presenceOf.values()].map((p) => p.ttlMs)) / 3));
    timer = setInterval(refresh, every);
    timer.unref();
  }

  return {
    /** Whether subscribes to this pattern are answered here (history or presence). */
    handles: (pattern: string) => historyOf.has(pattern) || presenceOf.has(pattern),
    /** The position-numbered publish of a channel with history; undefined for one without. */
    append(match: ChannelMatch<Config>, frame: string): Promise<unknown> | undefined {
      const limits = historyOf.get(match.pattern);
      if (!limits || !history) return undefined;
      return Promise.resolve(
        history.append(match.name, CHANNEL_PREFIX + match.name, frame.slice(0, -1), limits),
      ).catch((err: unknown) => {
        // Still delivered (without a position) rather than lost; clients cannot recover it.
        deps.failed(`history append: ${String(err)}`);
        return deps.publish(match.name, frame);
      });
    },
    /**
     * Subscribes `member` (already authorized) and sends the ack with the position, presence and
     * `recovered`, then the replay, then what was published meanwhile, each once and in order.
     */
    async subscribe(
      member: Member,
      match: ChannelMatch<Config>,
      sub: { params: Readonly<Record<string, string>>; pattern: string; checked: boolean },
      since: HistoryPosition | undefined,
      ack: (result: Record<string, unknown>) => string,
    ): Promise<void> {
      const channel = match.name;
      const hLimits = historyOf.get(match.pattern);
      const pLimits = presenceOf.get(match.pattern);
      await registry.add(member, channel, sub, true);
      let read: HistoryRead | undefined;
      const result: Record<string, unknown> = { channel };
      try {
        if (hLimits && history) read = await history.read(channel, since, hLimits);
      } catch (err) {
        deps.failed(`history read: ${String(err)}`);
      }
      if (read) {
        result.epoch = read.epoch;
        result.offset = read.offset;
      }
      if (hLimits && since) result.recovered = read?.frames !== undefined;
      if (pLimits && presence) {
        try {
          await join(member, channel, pLimits);
          const p = await presence.presenceGet(channel, pLimits.maxMembers);
          result.presence = { count: p.count, members: p.members.map((userId) => ({ userId })) };
        } catch (err) {
          deps.failed(`presence: ${String(err)}`);
        }
      }
      if (member.state !== 'open' || !registry.has(member, channel)) {
        registry.release(member, channel);
        return;
      }
      const last = read?.offset ?? -1;
      const held = registry.release(member, channel, read ? last : undefined);
      if (held === undefined) {
        // More was published while this subscribe was answered than a socket may hold.
        registry.remove(member, channel);
        member.sendFrame(unsubscribedFrame(channel, 'WSG_OVERLOADED'));
        return;
      }
      member.sendFrame(ack(result));
      const replay = read?.frames ?? [];
      for (const f of replay) member.sendFrame(f);
      for (const f of held) {
        const offset = offsetOf(f);
        if (offset === undefined || offset > last) member.sendFrame(f);
      }
    },
    /** `ctx.subscribe` on a presence channel joins too. */
    async joined(member: Member, match: ChannelMatch<Config>): Promise<void> {
      const pLimits = presenceOf.get(match.pattern);
      if (pLimits) await join(member, match.name, pLimits);
    },
    left: leave,
    close(): void {
      clearInterval(timer);
    },
  };
}
