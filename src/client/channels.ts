import { ControlType, isChannelName, type SubscribeResult } from '../protocol/index.js';
import {
  acked,
  admit,
  MAX_PENDING,
  newStream,
  type PresenceView,
  presenceChanged,
  type StreamState,
} from './channel-stream.js';
import type { Publication, SubscribeHandlers, Subscription, SubscriptionState } from './channel-types.js';
import {
  ClosedError,
  InvalidMessageError,
  SERVER_ERROR_CODE_PATTERN,
  SecureWebSocketError,
  ServerError,
  type ServerErrorCode,
} from './errors.js';

export type {
  ChannelApi,
  PresenceView,
  Publication,
  PublicationOf,
  SubscribeHandlers,
  SubscribeResult,
  Subscription,
  SubscriptionState,
} from './channel-types.js';

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
  /** Last delivered position (sent as `since` on a resubscribe), held publications, presence. */
  stream: StreamState;
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
      if (entry.stream.since) fields.since = entry.stream.since;
      outbox.sendControl(ControlType.Subscribe, fields, resubscribing).then(
        (result) => {
          entry.busy = false;
          entry.subscribed = true;
          const r = (typeof result === 'object' && result !== null ? result : {}) as SubscribeResult;
          acked(entry.stream, r as unknown as Record<string, unknown>);
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
          if (entry.stream.presence) notifyPresence(entry);
          for (const msg of entry.stream.pending.splice(0)) deliver(entry, msg);
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

  const notifyPresence = (entry: Entry) => {
    const view = entry.stream.presence as PresenceView;
    for (const l of entry.listeners) {
      try {
        l.handlers.onPresence?.(view);
      } catch (err) {
        listenerFailed(err, 'onPresence');
      }
    }
  };

  const route = (msg: Record<string, unknown>) => {
    const { channel, event } = msg;
    if (typeof channel !== 'string' || typeof event !== 'string') {
      log('ignored a malformed publication');
      return;
    }
    const entry = entries.get(channel);
    if (!entry) return;
    if (!entry.subscribed) {
      // The ack is on its way (a replay follows it): deliver in order once it is in.
      if (entry.busy && entry.listeners.size > 0 && entry.stream.pending.length < MAX_PENDING) {
        entry.stream.pending.push(msg);
      }
      return;
    }
    deliver(entry, msg);
  };

  const deliver = (entry: Entry, msg: Record<string, unknown>) => {
    // Never twice: a replay overlapping a live publication is dropped by its offset.
    if (!admit(entry.stream, msg)) return;
    const { offset, epoch } = msg;
    const publication: Publication = {
      channel: entry.channel,
      event: msg.event as string,
      payload: msg.payload,
    };
    if (typeof offset === 'number') publication.offset = offset;
    if (typeof epoch === 'string') publication.epoch = epoch;
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
          stream: newStream(),
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
            get recovered() {
              return e.stream.recovered;
            },
            get presence() {
              return e.stream.presence;
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
      if (msg.type === ControlType.Presence) {
        const entry = typeof msg.channel === 'string' ? entries.get(msg.channel) : undefined;
        if (entry?.subscribed && presenceChanged(entry.stream, msg)) notifyPresence(entry);
        return;
      }
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
        entry.stream.pending.length = 0;
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
