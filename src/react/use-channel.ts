import { useEffect, useRef, useState } from 'react';
import type {
  ChannelEvents,
  ChannelMap,
  ChannelName,
  ClientEventMap,
  PresenceView,
  PublicationOf,
  SubscribeHandlers,
  Subscription,
  SubscriptionState,
} from '../client/index.js';

/** What `useChannel` needs of a socket: a `SecureWebSocket` (typed or not) has it. */
export interface ChannelSource<Ch extends ChannelMap> {
  subscribe<C extends ChannelName<Ch>>(
    channel: C,
    handlers: SubscribeHandlers<ChannelEvents<Ch, C>>,
  ): Promise<Subscription>;
  addEventListener<K extends keyof ClientEventMap>(
    type: K,
    listener: (event: ClientEventMap[K]) => void,
  ): () => void;
}

export interface UseChannelOptions<P> {
  /** Most publications kept in `publications` (the oldest go first). @default 200 */
  limit?: number;
  /** Called with every publication, as it arrives (the latest function given is used). @default undefined */
  onPublication?: (publication: P) => void;
}

export interface ChannelView<P> {
  /** The latest publications, oldest first, at most `limit`. */
  publications: P[];
  /** `idle` without a socket or channel; otherwise the subscription's state. */
  state: SubscriptionState | 'idle';
  /** Why the subscription was refused or ended (a `ServerError` carries the code, e.g. WSG_FORBIDDEN). */
  error: Error | undefined;
  /**
   * After a reconnect on a channel with history: true when the missed publications were replayed
   * (they are in `publications`), false when they could not be (reload the state). Undefined before.
   */
  recovered: boolean | undefined;
  /** Who is here, on channels with presence; undefined otherwise. */
  presence: PresenceView | undefined;
}

const DEFAULT_LIMIT = 200;

/**
 * Subscribes `socket` to `channel` while the component is mounted; a new channel (or socket)
 * unsubscribes the old one first. Publications are kept in a bounded list.
 */
export function useChannel<Ch extends ChannelMap, C extends ChannelName<Ch>>(
  socket: ChannelSource<Ch> | undefined,
  channel: C | undefined,
  options: UseChannelOptions<PublicationOf<ChannelEvents<Ch, C>>> = {},
): ChannelView<PublicationOf<ChannelEvents<Ch, C>>> {
  type P = PublicationOf<ChannelEvents<Ch, C>>;
  const latest = useRef(options);
  latest.current = options;
  const [view, setView] = useState<ChannelView<P>>({
    publications: [],
    state: 'idle',
    error: undefined,
    recovered: undefined,
    presence: undefined,
  });

  useEffect(() => {
    if (!socket || channel === undefined) {
      setView({
        publications: [],
        state: 'idle',
        error: undefined,
        recovered: undefined,
        presence: undefined,
      });
      return;
    }
    let active = true;
    let handle: Subscription | undefined;
    const patch = (p: Partial<ChannelView<P>>) => {
      if (active) setView((old) => ({ ...old, ...p }));
    };
    setView({
      publications: [],
      state: 'subscribing',
      error: undefined,
      recovered: undefined,
      presence: undefined,
    });
    const offClose = socket.addEventListener('close', (e) => {
      if (e.willReconnect) patch({ state: 'subscribing' });
    });
    socket
      .subscribe(channel, {
        onPublication: (publication) => {
          if (!active) return;
          const limit = Math.max(1, latest.current.limit ?? DEFAULT_LIMIT);
          setView((old) => ({
            ...old,
            publications: [...old.publications.slice(-(limit - 1)), publication as P],
          }));
          latest.current.onPublication?.(publication as P);
        },
        onSubscribed: (result) =>
          patch({
            state: 'subscribed',
            error: undefined,
            ...(typeof result.recovered === 'boolean' ? { recovered: result.recovered } : {}),
          }),
        onPresence: (presence) => patch({ presence }),
        onUnsubscribed: (error) => patch({ state: 'unsubscribed', error }),
      })
      .then(
        (h) => {
          if (!active) {
            void h.unsubscribe();
            return;
          }
          handle = h;
          patch({ state: h.state });
        },
        (error: Error) => patch({ state: 'unsubscribed', error }),
      );
    return () => {
      active = false;
      offClose();
      void handle?.unsubscribe();
    };
  }, [socket, channel]);

  return view;
}

/**
 * Who is on `channel` (a channel with presence): `{count, members}`, kept up to date by the
 * server's joined / left frames; undefined until the subscribe is acked. Subscribes like
 * `useChannel` (the socket shares one server subscription between hooks on the same channel).
 */
export function usePresence<Ch extends ChannelMap, C extends ChannelName<Ch>>(
  socket: ChannelSource<Ch> | undefined,
  channel: C | undefined,
): PresenceView | undefined {
  return useChannel(socket, channel, { limit: 1 }).presence;
}
