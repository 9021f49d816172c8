// The shapes the dashboard's socket carries, shared by the page and the server (types only).
import type { Action } from '../server/dashboard/actions.js';
import type { FeedEvent, HistoryPoint, NodeSample, Offender } from '../server/dashboard/feed.js';

export type { Action, FeedEvent, HistoryPoint, Offender };
export type NodeRow = Omit<NodeSample, 'offenders' | 'events' | 'refusals'>;
export interface Snapshot {
  t: number;
  nodes: NodeRow[];
  point: HistoryPoint;
  offenders: Offender[];
  events: FeedEvent[];
}
export interface Initial {
  node: string;
  history: HistoryPoint[];
  events: FeedEvent[];
}
