import type { StreamPosition } from '../protocol/index.js';

/** Who is on a channel with presence, as this client knows it. */
export interface PresenceView {
  /** Members on the channel (from the subscribe's ack, then kept up to date by joined/left). */
  count: number;
  /** Known members: at most the server's `maxMembers` from the ack, plus those who joined since. */
  members: { userId: string }[];
}

/** Per channel: the position delivered so far, publications held until the ack, presence. */
export interface StreamState {
  since: StreamPosition | undefined;
  /** Publications that arrived while a (re)subscribe was unanswered: delivered after its ack. */
  pending: Record<string, unknown>[];
  /** The last ack's `recovered`: undefined when no position was sent (a first subscribe). */
  recovered: boolean | undefined;
  presence: PresenceView | undefined;
}

/** Most publications held for one channel while its subscribe is unanswered. */
export const MAX_PENDING = 10_000;

export const newStream = (): StreamState => ({
  since: undefined,
  pending: [],
  recovered: undefined,
  presence: undefined,
});

/**
 * Whether a publication is new to this client: one at or before the position already delivered
 * (same epoch) is a duplicate (a replay that overlaps a live one) and is dropped. Advances the position.
 */
export function admit(state: StreamState, msg: Record<string, unknown>): boolean {
  const { offset, epoch } = msg;
  if (typeof offset !== 'number' || typeof epoch !== 'string') return true;
  const s = state.since;
  if (s && s.epoch === epoch && offset <= s.offset) return false;
  state.since = { epoch, offset };
  return true;
}

/**
 * Applies a subscribe's ack. A recovered subscribe keeps the delivered position, so the replay
 * that follows the ack is delivered; otherwise the client starts from the ack's position.
 */
export function acked(state: StreamState, r: Record<string, unknown>): void {
  state.recovered = typeof r.recovered === 'boolean' ? r.recovered : undefined;
  if (r.recovered !== true && typeof r.epoch === 'string' && typeof r.offset === 'number') {
    state.since = { epoch: r.epoch, offset: r.offset };
  }
  const p = r.presence as { count?: unknown; members?: unknown } | undefined;
  if (p && typeof p.count === 'number' && Array.isArray(p.members)) {
    const members = p.members
      .map((m) => (m as { userId?: unknown })?.userId)
      .filter((u): u is string => typeof u === 'string')
      .map((userId) => ({ userId }));
    state.presence = { count: p.count, members };
  }
}

/** Applies a `presence` frame; true when the view changed. */
export function presenceChanged(state: StreamState, msg: Record<string, unknown>): boolean {
  const view = state.presence;
  if (!view) return false;
  const ids = (list: unknown) =>
    Array.isArray(list)
      ? list.map((m) => (m as { userId?: unknown })?.userId).filter((u): u is string => typeof u === 'string')
      : [];
  let members = view.members;
  let count = view.count;
  for (const userId of ids(msg.joined)) {
    if (members.some((m) => m.userId === userId)) continue;
    members = [...members, { userId }];
    count++;
  }
  for (const userId of ids(msg.left)) {
    const before = members.length;
    members = members.filter((m) => m.userId !== userId);
    if (members.length < before || count > members.length) count = Math.max(members.length, count - 1);
  }
  if (members === view.members && count === view.count) return false;
  state.presence = { count, members };
  return true;
}
