// The shapes the dashboard's socket carries, shared by the page and the server (types only).
import type { Action } from '../server/dashboard/actions.js';
import type { ChannelRow, FeedEvent, HistoryPoint, NodeSample, Offender } from '../server/dashboard/feed.js';

export type { Action, ChannelRow, FeedEvent, HistoryPoint, Offender };
export type NodeRow = Omit<NodeSample, 'offenders' | 'events' | 'refusals' | 'topChannels'>;
export interface Snapshot {
  t: number;
  nodes: NodeRow[];
  point: HistoryPoint;
  offenders: Offender[];
  events: FeedEvent[];
  /** The busiest channels over the nodes (at least this many subscribers each). */
  channels: ChannelRow[];
}
export interface Initial {
  node: string;
  history: HistoryPoint[];
  events: FeedEvent[];
}
