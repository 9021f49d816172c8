import type { ChannelEvents, ChannelMap, ChannelName, ChannelPublish } from '../protocol/define.js';
import type { SubscribeResult } from '../protocol/index.js';
import type { PresenceView } from './channel-stream.js';

export type { PresenceView, SubscribeResult };

/** One publication received on a channel. */
export interface Publication<Event extends string = string, Payload = unknown> {
  channel: string;
  event: Event;
  payload: Payload;
  /** Position in the channel's history (channels that keep history). */
  offset?: number;
  /** History epoch the offset belongs to. */
  epoch?: string;
}

/** The publications of an `event -> payload` map, as a union discriminated by `event`. */
export type PublicationOf<Events extends Record<string, unknown>> = {
  [E in keyof Events & string]: Publication<E, Events[E]>;
}[keyof Events & string];

/**
 * `subscribing`: waiting for the server's ack (also while reconnecting: the client resubscribes
 * on its own); `subscribed`: publications flow; `unsubscribed`: over for good.
 */
export type SubscriptionState = 'subscribing' | 'subscribed' | 'unsubscribed';

export interface SubscribeHandlers<Events extends Record<string, unknown> = Record<string, unknown>> {
  /** Every publication on the channel, in order. */
  onPublication(publication: PublicationOf<Events>): void;
  /**
   * The subscription ended without `unsubscribe()`: the server dropped it (`unsubscribed`, e.g.
   * WSG_FORBIDDEN after a token refresh) or refused the resubscribe after a reconnect. The
   * client does not subscribe again on its own.
   */
  onUnsubscribed?(error: Error): void;
  /**
   * Every ack of the subscription: the first one and the one after each reconnect. After a
   * reconnect on a channel with history, `result.recovered` says whether the publications missed
   * meanwhile follow (true: they are delivered next, before live ones) or could not be (false:
   * reload the channel's state).
   */
  onSubscribed?(result: SubscribeResult): void;
  /** Who is here changed (channels with presence): the ack's list, then each joined / left. */
  onPresence?(presence: PresenceView): void;
}

export interface Subscription {
  readonly channel: string;
  readonly state: SubscriptionState;
  /** The last resubscribe's `recovered` (undefined before the first reconnect, or without history). */
  readonly recovered: boolean | undefined;
  /** Who is here (channels with presence), else undefined. */
  readonly presence: PresenceView | undefined;
  /** Ends this subscription; resolves once the server acked (at once if other handles remain). */
  unsubscribe(): Promise<void>;
}

/** The channel methods of `SecureWebSocket`, typed by its channel map. */
export interface ChannelApi<Ch extends ChannelMap> {
  /**
   * Subscribes to a channel; resolves with the handle once the server acked, rejects with a
   * `ServerError` (WSG_FORBIDDEN, WSG_UNKNOWN_CHANNEL, WSG_TOO_MANY_SUBSCRIPTIONS, ...) when it
   * refused. The client resubscribes after every reconnect (the server authorizes again).
   */
  subscribe<C extends ChannelName<Ch>>(
    channel: C,
    handlers: SubscribeHandlers<ChannelEvents<Ch, C>>,
  ): Promise<Subscription>;
  /** Publishes an event the channel declares for clients; resolves on the server's ack. */
  publish<C extends ChannelName<Ch>, E extends keyof ChannelPublish<Ch, C> & string>(
    channel: C,
    event: E,
    payload: ChannelPublish<Ch, C>[E],
  ): Promise<void>;
  /** Channels this client is subscribed (or subscribing) to. */
  subscriptions(): string[];
}
