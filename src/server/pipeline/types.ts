import type { SocketAnomalyState } from '../anomaly/index.js';
import type { WsgError } from '../errors.js';
import type { SocketRateState } from '../limits/socket-rate.js';
import type { Principal } from '../options.js';

/** What every stage of one socket can read about it. */
export interface ConnectionInfo {
  readonly connectionId: string;
  readonly ip: string;
  readonly user: Principal | undefined;
  readonly sessionId: string | undefined;
  readonly csrfToken: string | undefined;
  /** Per-socket limiter state (limits/socket-rate.ts). */
  rate: SocketRateState | undefined;
  /** Per-socket anomaly score and burst baseline (anomaly/index.ts). */
  anomaly: SocketAnomalyState | undefined;
  /** Refusals in the current strike window (limits/penalties.ts). */
  strikes: { start: number; count: number } | undefined;
}

/** One message on its way through the pipeline; stages fill it in as they go. */
export interface MessageContext {
  readonly conn: ConnectionInfo;
  /** Size of the frame in bytes. */
  readonly bytes: number;
  readonly isBinary: boolean;
  /** The message type, once the envelope stage has read it. */
  type: string;
  id: string | undefined;
  payload: unknown;
  csrf: string | undefined;
}

export type StageResult = WsgError | undefined;

/** A pipeline stage: one check made at setup from its options. It returns, never throws. */
export type Stage = (m: MessageContext) => StageResult | Promise<StageResult>;
