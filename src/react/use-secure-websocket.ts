import { useCallback, useEffect, useMemo, useRef, useSyncExternalStore } from 'react';
import {
  type AnyChannels,
  type ChannelMap,
  type ClientState,
  ClosedError,
  type IncomingMap,
  type OutgoingMap,
  SecureWebSocket,
  type SecureWebSocketOptions,
  type WaitReason,
} from '../client/index.js';

/** What the hook returns; a new object only when something in it changed. */
export interface SecureWebSocketView<
  Out extends OutgoingMap = OutgoingMap,
  In extends IncomingMap = IncomingMap,
  Ch extends ChannelMap = AnyChannels,
> {
  state: ClientState | 'idle';
  /** Sends an application message; resolves with the server's ack result (see SecureWebSocket.send). */
  send: SecureWebSocket<Out, In>['send'];
  /** The last application event from the server. */
  lastMessage: { type: string; payload: unknown } | undefined;
  /** Round trip of the last health ping, ms. */
  latencyMs: number | undefined;
  /** Messages waiting for the connection. */
  queueSize: number;
  /**
   * Why queued messages wait, from the client's `queue` events: `'paced'` is "sending slower:
   * server limit" (the announced rate), `'paused'` a server retry-after, `'reconnecting'`...;
   * undefined when nothing waits.
   */
  waitReason: WaitReason | undefined;
  /** The last error the client reported (auth refused, ...), until the next successful open. */
  error: Error | undefined;
  /** The client itself, once it exists (one tick after mount): pass it to `useChannel`. */
  socket: SecureWebSocket<Out, In, Ch> | undefined;
}

interface Snapshot {
  socket: SecureWebSocket<never, never> | undefined;
  state: ClientState | 'idle';
  lastMessage: { type: string; payload: unknown } | undefined;
  latencyMs: number | undefined;
  queueSize: number;
  waitReason: WaitReason | undefined;
  error: Error | undefined;
}

const IDLE: Snapshot = {
  socket: undefined,
  state: 'idle',
  lastMessage: undefined,
  latencyMs: undefined,
  queueSize: 0,
  waitReason: undefined,
  error: undefined,
};

/**
 * One SecureWebSocket per mounted component. The socket opens one tick after mount, so React
 * StrictMode's mount-unmount-mount opens exactly one; it closes on unmount. A change of `url`
 * (or `authTransport`) makes a new connection; a new `onMessage` or `getToken` does not.
 */
export function useSecureWebSocket<
  Out extends OutgoingMap = OutgoingMap,
  In extends IncomingMap = IncomingMap,
  Ch extends ChannelMap = AnyChannels,
>(options: SecureWebSocketOptions<In>): SecureWebSocketView<Out, In, Ch> {
  const latest = useRef(options);
  latest.current = options;
  const { url, authTransport } = options;

  // A new store (and connection) only when the connection itself must change: url and
  // authTransport are its identity, though the factory reads the options through `latest`.
  // biome-ignore lint/correctness/useExhaustiveDependencies: see above
  const store = useMemo(() => {
    let snapshot = IDLE;
    let client: SecureWebSocket<Out, In> | undefined;
    /** Mounted and not yet cleaned up: only then may a connection open (never after unmount or a URL change). */
    let active = false;
    const listeners = new Set<() => void>();
    const update = (patch: Partial<Snapshot>) => {
      const next = { ...snapshot, ...patch };
      if (
        next.socket === snapshot.socket &&
        next.state === snapshot.state &&
        next.lastMessage === snapshot.lastMessage &&
        next.latencyMs === snapshot.latencyMs &&
        next.queueSize === snapshot.queueSize &&
        next.waitReason === snapshot.waitReason &&
        next.error === snapshot.error
      ) {
        return;
      }
      snapshot = next;
      for (const l of listeners) l();
    };
    const sync = (c: SecureWebSocket<Out, In>) =>
      update({ state: c.state, latencyMs: c.latencyMs, queueSize: c.queueSize });
    return {
      subscribe(l: () => void) {
        listeners.add(l);
        return () => listeners.delete(l);
      },
      get: () => snapshot,
      get client() {
        return client;
      },
      activate() {
        active = true;
      },
      open(): SecureWebSocket<Out, In> | undefined {
        if (!active) return undefined;
        if (client) return client;
        const o = latest.current;
        // Callbacks read the latest options, so changing them needs no new connection.
        client = new SecureWebSocket<Out, In>({
          ...o,
          ...(o.getToken
            ? { getToken: () => (latest.current.getToken ?? o.getToken)?.() as string | Promise<string> }
            : {}),
          onMessage: (m) => {
            update({ lastMessage: m as { type: string; payload: unknown } });
            latest.current.onMessage?.(m);
          },
        });
        // Each field is re-read when the client reports a change, nothing is polled. Reading the
        // client (not the event) stays right when a listener changes the state inside another's event.
        const c = client;
        for (const type of ['stateChange', 'latency', 'queue'] as const)
          c.addEventListener(type, () => sync(c));
        c.addEventListener('queue', (e) => update({ waitReason: e.reason }));
        c.addEventListener('open', () => update({ error: undefined }));
        c.addEventListener('error', (e) => update({ error: e }));
        update({ socket: c as unknown as Snapshot['socket'] });
        sync(c);
        return c;
      },
      close() {
        active = false;
        client?.close();
        client = undefined;
        update({ ...IDLE, state: 'closed' });
      },
    };
  }, [url, authTransport]);

  useEffect(() => {
    store.activate();
    const timer = setTimeout(() => store.open(), 0);
    return () => {
      clearTimeout(timer);
      store.close();
    };
  }, [store]);

  const snapshot = useSyncExternalStore(store.subscribe, store.get, store.get);

  const send = useCallback(
    ((message: Parameters<SecureWebSocket<Out, In>['send']>[0]) => {
      // A send captured before an unmount or a URL change must not open a connection, nor
      // reach a connection to another URL: this store is the one it was created with.
      const client = store.client ?? store.open();
      if (!client)
        return Promise.reject(new ClosedError('the connection this send belongs to is closed', false));
      return client.send(message);
    }) as SecureWebSocket<Out, In>['send'],
    [store],
  );

  return useMemo(
    () => ({ ...snapshot, socket: snapshot.socket as SecureWebSocket<Out, In, Ch> | undefined, send }),
    [snapshot, send],
  );
}
