import type { z } from 'zod';
import type { Principal } from '../connection/state.js';

/** What a channel's `authorize` is asked. */
export type ChannelAction = 'subscribe' | 'publish';

export interface ChannelAuthorizeContext {
  /** The full channel name (`room:general`). */
  readonly channel: string;
  /** The declared pattern it matched (`room:{name}`). */
  readonly pattern: string;
  readonly action: ChannelAction;
}

/**
 * May `user` subscribe to (or publish on) this channel? Called with the named parameters of the
 * pattern (`{ name: 'general' }` for `room:{name}`). `false`, or a throw, refuses with
 * `WSG_FORBIDDEN`; asked again for every subscription when the session refreshes its token.
 */
export type ChannelAuthorize<U extends Principal<object> = Principal> = (
  user: U,
  params: Readonly<Record<string, string>>,
  ctx: ChannelAuthorizeContext,
) => boolean | Promise<boolean>;

export interface ChannelHistoryOptions {
  /** Publications kept for recovery (1 to 10000). @default 100 */
  size?: number;
  /** How long a publication is kept, ms. @default 120000 */
  ttlMs?: number;
  /**
   * Most bytes of publication frames kept for one channel; the store's `historyMaxBytes` bounds
   * all channels together. @default 1048576 (1 MiB)
   */
  maxBytes?: number;
}

export interface ChannelPresenceOptions {
  /** Most members listed in a subscribe's ack (`count` is always the full number). @default 100 */
  maxMembers?: number;
  /**
   * How long a node's mark on a member lives without renewal, ms; each node renews its marks every
   * `ttlMs / 3`, so the members of a node that died leave within `ttlMs + ttlMs / 3`. @default 15000
   */
  ttlMs?: number;
}

export interface ChannelOptions<U extends Principal<object> = Principal> {
  /** Who may subscribe (and, unless `authorizePublish` says otherwise, publish). Required. */
  authorize: ChannelAuthorize<U>;
  /**
   * Who may publish client events here. @default the channel's `authorize`, asked with action 'publish'
   */
  authorizePublish?: ChannelAuthorize<U>;
  /**
   * A constraint per parameter (`{ name: /[a-z0-9-]{1,32}/ }`), anchored; a name whose parameter
   * fails it does not match this pattern. @default {} (any one segment of the channel alphabet)
   */
  params?: Record<string, RegExp>;
  /**
   * Events clients may `publish` here, each with the Zod schema of its payload. An event not
   * listed is refused `WSG_FORBIDDEN`. @default {} (clients publish nothing; the server still can)
   */
  publish?: Record<string, z.ZodType>;
  /**
   * Shapes what subscribers get from a client's publish (e.g. adds the sender's id, which a
   * client cannot be trusted to give). @default the validated payload as is
   */
  transformPublish?: (
    user: U,
    event: string,
    payload: unknown,
    params: Readonly<Record<string, string>>,
  ) => unknown;
  /**
   * Keep publications for recovery: each carries `offset` and `epoch`, and a subscribe with
   * `since` replays what was missed (`true`: the defaults). @default undefined (no history)
   */
  history?: ChannelHistoryOptions | boolean;
  /**
   * Who is here: the subscribe's ack carries `presence: {count, members}` and subscribers get
   * `presence` joined/left frames (`true`: the defaults). @default false
   */
  presence?: ChannelPresenceOptions | boolean;
}

/** Channel patterns and their rules: `{ 'room:{name}': { authorize: () => true } }`. */
export type ChannelsOptions<U extends Principal<object> = Principal> = Record<string, ChannelOptions<U>>;

/** What `wss.channels()` says about this process. */
export interface ChannelStats {
  /** Channels with at least one subscriber on this process. */
  channels: number;
  /** Subscriptions of this process's sockets. */
  subscriptions: number;
  /** The busiest channels here, most subscribers first (at most 20). */
  top: { channel: string; subscribers: number }[];
  /** Publications delivered to local sockets since start. */
  deliveries: number;
}

export interface UnsubscribeOptions {
  /** Only this user's sockets. @default every subscriber */
  userId?: string;
}
