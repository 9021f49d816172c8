import type { ConnectionInfo } from '../connection/state.js';
import type { WsgError } from '../errors.js';

export type { ConnectionInfo };

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
