import type { ErrorCode } from '../../protocol/index.js';
import type { Principal } from '../connection/state.js';
import { offsetOf } from '../stores/history-frame.js';
import type { PubSub } from '../stores/types.js';

/** A socket as the channels see it (Connection is one). */
export interface Member {
  readonly connectionId: string;
  readonly user: Principal | undefined;
  readonly state: string;
  sendFrame(frame: string): void;
}

/** One subscription of one socket. */
export interface Subscription {
  readonly params: Readonly<Record<string, string>>;
  readonly pattern: string;
  /** Asked of `authorize` (a client's subscribe), so asked again on refresh; false for ctx.subscribe. */
  readonly checked: boolean;
}

export const CHANNEL_PREFIX = 'wsguard:ch:';
/** Most frames held for one socket while its subscribe is answered (recovery reads history meanwhile). */
const MAX_HELD = 10_000;
const USER_PREFIX = 'wsguard:u:';
/** Channels `stats()` lists, busiest first. */
const TOP_CHANNELS = 20;

/** `{"type":"unsubscribed","channel","code"}`: channel names need no escaping (their alphabet has no `"` or `\`). */
export function unsubscribedFrame(channel: string, code: ErrorCode): string {
  return `{"type":"unsubscribed","channel":"${channel}","code":"${code}"}`;
}

/** `{"type":"publication","channel","event","payload"}`, encoded once for every subscriber on every node. */
export function publicationFrame(channel: string, event: string, payload: unknown): string {
  return `{"type":"publication","channel":"${channel}","event":${JSON.stringify(event)},"payload":${JSON.stringify(payload ?? null)}}`;
}

/**
 * Who is subscribed to what on this process, and the store subscriptions that feed them: one
 * store channel per wsguard channel with a local subscriber (docs/channels.md says why), and one
 * per user with a local socket (for sendToUser). A publication arrives as the finished frame and
 * is written to each local subscriber as is: one serialization per publication, not per socket.
 */
export function createRegistry(store: PubSub, onRemoved?: (member: Member, channel: string) => void) {
  const bySocket = new WeakMap<Member, Map<string, Subscription>>();
  const byChannel = new Map<
    string,
    {
      members: Set<Member>;
      held: Map<Member, string[] | undefined>;
      /** Per socket just answered: the offset it already has; older frames still in flight are dropped. */
      floor: Map<Member, number>;
      unsubscribe: () => void;
    }
  >();
  const byUser = new Map<string, { members: Set<Member>; unsubscribe: () => void }>();
  let deliveries = 0;

  const fanOut = (
    members: ReadonlySet<Member>,
    frame: string,
    held?: Map<Member, string[] | undefined>,
    floor?: Map<Member, number>,
  ) => {
    let offset: number | undefined | null = null;
    // The ws adapter corks each socket on its first write of a tick, so a burst of publications
    // to one socket leaves in one write.
    for (const m of members) {
      if (m.state !== 'open') continue;
      if (held !== undefined && held.size > 0 && held.has(m)) {
        // Its subscribe is not answered yet: the frame waits (undefined: too many waited).
        const list = held.get(m);
        if (list && list.length < MAX_HELD) list.push(frame);
        else held.set(m, undefined);
        continue;
      }
      if (floor !== undefined && floor.size > 0 && floor.has(m)) {
        if (offset === null) offset = offsetOf(frame);
        if (offset !== undefined) {
          if (offset <= (floor.get(m) as number)) continue;
          floor.delete(m);
        }
      }
      m.sendFrame(frame);
      deliveries++;
    }
  };

  return {
    subscriptions(member: Member): ReadonlyMap<string, Subscription> | undefined {
      return bySocket.get(member);
    },
    count(member: Member): number {
      return bySocket.get(member)?.size ?? 0;
    },
    has(member: Member, channel: string): boolean {
      return bySocket.get(member)?.has(channel) ?? false;
    },
    /**
     * Adds the subscription; resolves once this process hears the channel on every node. With
     * `hold`, publications for this socket wait until `release` (the ack and replay go first).
     */
    add(member: Member, channel: string, sub: Subscription, hold = false): Promise<void> | undefined {
      let subs = bySocket.get(member);
      if (!subs) {
        subs = new Map();
        bySocket.set(member, subs);
      }
      subs.set(channel, sub);
      let entry = byChannel.get(channel);
      if (!entry) {
        const members = new Set<Member>();
        const held = new Map<Member, string[] | undefined>();
        const floor = new Map<Member, number>();
        entry = {
          members,
          held,
          floor,
          unsubscribe: store.subscribe(CHANNEL_PREFIX + channel, (f) => fanOut(members, f, held, floor)),
        };
        byChannel.set(channel, entry);
      }
      entry.members.add(member);
      if (hold) entry.held.set(member, []);
      return store.whenSubscribed?.(CHANNEL_PREFIX + channel);
    },
    /**
     * The frames held for this socket since `add`, in order; undefined when more came than fit.
     * From now on it gets frames as they come, except those at or below `floor` (it has them).
     */
    release(member: Member, channel: string, floor?: number): string[] | undefined {
      const entry = byChannel.get(channel);
      const list = entry?.held.get(member);
      entry?.held.delete(member);
      if (entry && floor !== undefined) entry.floor.set(member, floor);
      return list;
    },
    remove(member: Member, channel: string): boolean {
      const subs = bySocket.get(member);
      if (!subs?.delete(channel)) return false;
      onRemoved?.(member, channel);
      const entry = byChannel.get(channel);
      if (entry) {
        entry.members.delete(member);
        entry.held.delete(member);
        entry.floor.delete(member);
        if (entry.members.size === 0) {
          byChannel.delete(channel);
          entry.unsubscribe();
        }
      }
      return true;
    },
    /** Local subscribers of a channel (a copy: callers remove while they walk it). */
    members(channel: string): Member[] {
      return [...(byChannel.get(channel)?.members ?? [])];
    },
    publish(channel: string, frame: string) {
      return store.publish(CHANNEL_PREFIX + channel, frame);
    },
    /** Starts hearing `sendToUser` for this socket's user. */
    joinUser(member: Member, userId: string): void {
      let entry = byUser.get(userId);
      if (!entry) {
        const members = new Set<Member>();
        entry = { members, unsubscribe: store.subscribe(USER_PREFIX + userId, (f) => fanOut(members, f)) };
        byUser.set(userId, entry);
      }
      entry.members.add(member);
    },
    leaveUser(member: Member, userId: string): void {
      const entry = byUser.get(userId);
      if (!entry?.members.delete(member)) return;
      if (entry.members.size === 0) {
        byUser.delete(userId);
        entry.unsubscribe();
      }
    },
    sendToUser(userId: string, frame: string) {
      return store.publish(USER_PREFIX + userId, frame);
    },
    stats() {
      let subscriptions = 0;
      // The 20 busiest kept sorted as the channels go by: the dashboard asks every second, and
      // sorting every channel took 50-90 ms at 100,000 channels, against under 10 for this.
      const top: { channel: string; subscribers: number }[] = [];
      for (const [channel, { members }] of byChannel) {
        const n = members.size;
        subscriptions += n;
        if (
          top.length === TOP_CHANNELS &&
          n <= (top[TOP_CHANNELS - 1] as { subscribers: number }).subscribers
        )
          continue;
        let i = top.length;
        while (i > 0 && (top[i - 1] as { subscribers: number }).subscribers < n) i--;
        top.splice(i, 0, { channel, subscribers: n });
        if (top.length > TOP_CHANNELS) top.pop();
      }
      return { channels: byChannel.size, subscriptions, top, deliveries };
    },
    close(): void {
      for (const e of byChannel.values()) e.unsubscribe();
      for (const e of byUser.values()) e.unsubscribe();
      byChannel.clear();
      byUser.clear();
    },
  };
}

export type Registry = ReturnType<typeof createRegistry>;
