import type { ConnectionInfo, SocketRateState } from '../connection/state.js';
import { WsgError } from '../errors.js';
import type { Stage } from '../pipeline/types.js';
import { type BucketRate, fullBucket, take } from './token-bucket.js';

export type { SocketRateState } from '../connection/state.js';

/** The socket's limiter state, made at its first message (the socket and user limits share it). */
export function rateStateOf(conn: ConnectionInfo): SocketRateState {
  let state = conn.rate;
  if (state === undefined) {
    state = { messages: undefined, bytes: undefined, userKey: undefined };
    conn.rate = state;
  }
  return state;
}

/**
 * Messages and bytes per socket: a frame stage, so a flood is refused before any JSON work.
 * Returns undefined when both layers are off.
 */
export function createSocketRateStage(
  messages: BucketRate | false,
  bytes: BucketRate | false,
  now: () => number,
): Stage | undefined {
  if (!messages && !bytes) return undefined;
  return (m) => {
    const t = now();
    const state = rateStateOf(m.conn);
    if (messages) {
      state.messages ??= fullBucket(messages, t);
      const wait = take(state.messages, messages, 1, t);
      if (wait > 0)
        return new WsgError('WSG_RATE_LIMITED', { retryAfterMs: wait, detail: 'socket messages' });
    }
    if (bytes) {
      state.bytes ??= fullBucket(bytes, t);
      // A single message larger than the burst can never pass; charge it the whole burst.
      const wait = take(state.bytes, bytes, Math.min(m.bytes, bytes.burst), t);
      if (wait > 0) return new WsgError('WSG_RATE_LIMITED', { retryAfterMs: wait, detail: 'socket bytes' });
    }
    return undefined;
  };
}
