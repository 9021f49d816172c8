import type { ChannelEvents, ChannelMap, ChannelName, ChannelPublish } from '../protocol/define.js';
import { ControlType, isChannelName, type StreamPosition, type SubscribeResult } from '../protocol/index.js';
import {
  ClosedError,
  InvalidMessageError,
  SERVER_ERROR_CODE_PATTERN,
  SecureWebSocketError,
  ServerError,
  type ServerErrorCode,
} from './errors.js';

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

export type { SubscribeResult };

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
  /** Every ack of the subscription: the first one and the one after each reconnect. */
  onSubscribed?(result: SubscribeResult): void;
}

export interface Subscription {
  readonly channel: string;
  readonly state: SubscriptionState;
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

/** What the manager needs from the socket: its outbox, its debug log, its events. */
interface Outbox {
  /** Sends `{id, type, ...fields, csrf}` through the socket's queue; resolves with the ack's result. */
  sendControl(type: string, fields: Record<string, unknown>, first?: boolean): Promise<unknown>;
}
type Log = (message: string, data?: Record<string, unknown>) => void;
interface Events {
  /** Reports an error not tied to one call (the socket's `error` event). */
  error(error: Error): void;
  /** The socket's `close` events: hold on a drop, end on the final close. */
  lifecycle: {
    on(
      type: 'close',
      listener: (e: { willReconnect: boolean; code: number; error?: Error }) => void,
    ): unknown;
  };
}

interface Listener {
  handlers: SubscribeHandlers;
  state: SubscriptionState;
  /** Set until the first ack (or refusal) of this listener. */
  settle?: { resolve(s: Subscription): void; reject(err: Error): void };
  handle: Subscription;
}

interface Entry {
  channel: string;
  listeners: Set<Listener>;
  /** What the server has, as far as this connection knows. */
  subscribed: boolean;
  /** A subscribe or unsubscribe is on its way; one at a time per channel, so they cannot cross. */
  busy: boolean;
  /** Promises of `unsubscribe()` calls waiting for the server. */
  leaving: (() => void)[];
  /** Last known position, sent as `since` on a resubscribe. */
  since: StreamPosition | undefined;
}

/** Most channels one client tracks; the server's default `maxSubscriptions` is 100. */
export const MAX_CLIENT_CHANNELS = 1000;

export interface ChannelManager {
  subscribe(channel: string, handlers: SubscribeHandlers): Promise<Subscription>;
  publish(channel: string, event: string, payload: unknown): Promise<void>;
  /** Channels with at least one handle. */
  subscriptions(): string[];
  /** A `publication`, `unsubscribed` or `presence` frame. */
  onFrame(msg: Record<string, unknown>): void;
  /** The connection dropped; the client will reconnect. */
  connectionLost(): void;
  /** Authenticated again after a reconnect: resubscribe everything, ahead of queued messages. */
  reconnected(): void;
  /** The client closed for good. */
  closed(error: Error): void;
}

function checkChannel(channel: unknown): asserts channel is string {
  if (!isChannelName(channel)) {
    throw new InvalidMessageError('channel', `invalid channel name: ${String(channel).slice(0, 64)}`);
  }
}

/** Keeps the client's subscriptions: several handles per channel share one server subscription. */
export function createChannelManager(outbox: Outbox, log: Log, events: Events): ChannelManager {
  const entries = new Map<string, Entry>();
  let resubscribing = false;
  const listenerFailed = (err: unknown, where: string) =>
    events.error(new SecureWebSocketError(`a ${where} listener threw`, false, { cause: err }));
  events.lifecycle.on('close', (e) =>
    e.willReconnect
      ? manager.connectionLost()
      : manager.closed(e.error ?? new ClosedError('the client is closed', false, e.code)),
  );

  const end = (entry: Entry, l: Listener, error: Error, notify: boolean) => {
    entry.listeners.delete(l);
    l.state = 'unsubscribed';
    if (l.settle) {
      l.settle.reject(error);
      delete l.settle;
    } else if (notify && l.handlers.onUnsubscribed) {
      try {
        l.handlers.onUnsubscribed(error);
      } catch (err) {
        listenerFailed(err, 'onUnsubscribed');
      }
    }
  };

  const reconcile = (entry: Entry) => {
    if (entry.busy) return;
    const want = entry.listeners.size > 0;
    if (want && !entry.subscribed) {
      entry.busy = true;
      const fields: Record<string, unknown> = { channel: entry.channel };
      if (entry.since) fields.since = entry.since;
      outbox.sendControl(ControlType.Subscribe, fields, resubscribing).then(
        (result) => {
          entry.busy = false;
          entry.subscribed = true;
          const r = (typeof result === 'object' && result !== null ? result : {}) as SubscribeResult;
          if (typeof r.epoch === 'string' && typeof r.offset === 'number') {
            entry.since = { epoch: r.epoch, offset: r.offset };
          }
          for (const l of entry.listeners) {
            l.state = 'subscribed';
            if (l.settle) {
              l.settle.resolve(l.handle);
              delete l.settle;
            }
            try {
              l.handlers.onSubscribed?.({ ...r, channel: entry.channel });
            } catch (err) {
              listenerFailed(err, 'onSubscribed');
            }
          }
          reconcile(entry);
        },
        (err: Error) => {
          entry.busy = false;
          log('subscribe refused', { channel: entry.channel, error: err });
          for (const l of [...entry.listeners]) end(entry, l, err, true);
          reconcile(entry);
        },
      );
      return;
    }
    if (!want && entry.subscribed) {
      entry.busy = true;
      const done = () => {
        entry.busy = false;
        entry.subscribed = false;
        for (const r of entry.leaving.splice(0)) r();
        reconcile(entry);
      };
      // Refused or not, the handles are gone: nothing more is routed to them either way.
      outbox.sendControl(ControlType.Unsubscribe, { channel: entry.channel }).then(done, done);
      return;
    }
    if (!want) {
      for (const r of entry.leaving.splice(0)) r();
      entries.delete(entry.channel);
    }
  };

  const route = (msg: Record<string, unknown>) => {
    const { channel, event, offset, epoch } = msg;
    if (typeof channel !== 'string' || typeof event !== 'string') {
      log('ignored a malformed publication');
      return;
    }
    const entry = entries.get(channel);
    if (!entry?.subscribed) return;
    const publication: Publication = { channel, event, payload: msg.payload };
    if (typeof offset === 'number') publication.offset = offset;
    if (typeof epoch === 'string') publication.epoch = epoch;
    if (typeof offset === 'number' && typeof epoch === 'string') entry.since = { epoch, offset };
    for (const l of entry.listeners) {
      try {
        l.handlers.onPublication(publication as never);
      } catch (err) {
        listenerFailed(err, 'onPublication');
      }
    }
  };

  const manager: ChannelManager = {
    subscribe(channel, handlers) {
      try {
        checkChannel(channel);
        if (typeof handlers?.onPublication !== 'function') {
          throw new TypeError('subscribe() needs { onPublication }');
        }
      } catch (err) {
        return Promise.reject(err);
      }
      let entry = entries.get(channel);
      if (!entry) {
        if (entries.size >= MAX_CLIENT_CHANNELS) {
          return Promise.reject(
            new ServerError('WSG_TOO_MANY_SUBSCRIPTIONS', `more than ${MAX_CLIENT_CHANNELS} channels`),
          );
        }
        entry = {
          channel,
          listeners: new Set(),
          subscribed: false,
          busy: false,
          leaving: [],
          since: undefined,
        };
        entries.set(channel, entry);
      }
      const e = entry;
      return new Promise<Subscription>((resolve, reject) => {
        const l: Listener = {
          handlers: handlers as SubscribeHandlers,
          state: 'subscribing',
          settle: { resolve, reject },
          handle: {
            channel,
            get state() {
              return l.state;
            },
            unsubscribe() {
              if (!e.listeners.has(l)) return Promise.resolve();
              e.listeners.delete(l);
              l.state = 'unsubscribed';
              if (l.settle) {
                l.settle.reject(new SecureWebSocketError('unsubscribed before the server answered', false));
                delete l.settle;
              }
              if (e.listeners.size > 0) return Promise.resolve();
              return new Promise<void>((done) => {
                e.leaving.push(done);
                reconcile(e);
              });
            },
          },
        };
        e.listeners.add(l);
        if (e.subscribed && !e.busy) {
          // The server already has it: share that subscription.
          l.state = 'subscribed';
          delete l.settle;
          resolve(l.handle);
          return;
        }
        reconcile(e);
      });
    },

    publish(channel, event, payload) {
      try {
        checkChannel(channel);
        if (typeof event !== 'string' || event.length === 0 || event.length > 64) {
          throw new InvalidMessageError('type', 'publish() needs an event name of 1 to 64 characters');
        }
      } catch (err) {
        return Promise.reject(err);
      }
      return outbox
        .sendControl(ControlType.Publish, { channel, event, payload: payload ?? null })
        .then(() => undefined);
    },

    subscriptions: () => [...entries.values()].filter((e) => e.listeners.size > 0).map((e) => e.channel),

    onFrame(msg) {
      if (msg.type === ControlType.Publication) return route(msg);
      if (msg.type !== ControlType.Unsubscribed) return;
      const { channel, code } = msg;
      if (typeof channel !== 'string') return;
      const entry = entries.get(channel);
      if (!entry) return;
      entry.subscribed = false;
      const c = (
        typeof code === 'string' && SERVER_ERROR_CODE_PATTERN.test(code) ? code : 'WSG_FORBIDDEN'
      ) as ServerErrorCode;
      const error = new ServerError(c, 'the server ended the subscription');
      log('unsubscribed by the server', { channel, code: c });
      // Never resubscribed on its own: the app decides, with the reason in hand.
      for (const l of [...entry.listeners]) end(entry, l, error, true);
      reconcile(entry);
    },

    connectionLost() {
      for (const entry of entries.values()) {
        entry.subscribed = false;
        for (const l of entry.listeners) if (l.state === 'subscribed') l.state = 'subscribing';
      }
    },

    reconnected() {
      resubscribing = true;
      try {
        for (const entry of [...entries.values()]) reconcile(entry);
      } finally {
        resubscribing = false;
      }
    },

    closed(error) {
      for (const entry of [...entries.values()]) {
        entry.subscribed = false;
        for (const l of [...entry.listeners]) end(entry, l, error, true);
        for (const r of entry.leaving.splice(0)) r();
      }
      entries.clear();
    },
  };
  return manager;
}
