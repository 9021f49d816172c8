import type { ClientState } from './events.js';
import type { WaitReason } from './outbox.js';

/** What decides whether application messages can go out. */
export interface SendConditions {
  /** A socket is attached. */
  connected: boolean;
  /** A session refresh is under way. */
  refreshing: boolean;
  /** The browser is offline (or the client waits for it to come back); asked only when not open. */
  offline(): boolean;
  /** A connection was authenticated before: a wait now is a reconnect, not the first connect. */
  everOpened: boolean;
}

/** Why application messages cannot go out in `state`; undefined when they can. */
export function blockedReason(
  state: ClientState,
  c: SendConditions,
): Exclude<WaitReason, 'paused'> | undefined {
  switch (state) {
    case 'closed':
      return 'closed';
    case 'open':
      if (!c.connected) return 'reconnecting';
      return c.refreshing ? 'refreshing' : undefined;
    default:
      if (c.offline()) return 'offline';
      return c.everOpened ? 'reconnecting' : 'connecting';
  }
}
