/**
 * The demo app's client module (the seed's `client/src/utils/secureWebSocket.ts`): the library's
 * SecureWebSocket, plus this app's message types and defaults. The seed's usage works as written:
 * `import { SecureWebSocket } from '../utils/secureWebSocket'`.
 */
import { SecureWebSocket, type SecureWebSocketOptions } from 'wsguard/client';

export * from 'wsguard/client';

/** What this app sends (see server/websocket.ts): type -> payload and the ack's result. */
export type AppOutgoing = {
  /** Any JSON; the ack's result is the same value. */
  echo: { payload: unknown; result: unknown };
  /** A chat line, broadcast to everyone as a `chat` event. */
  chat: { payload: { text: string }; result: undefined };
};

/** What this app receives: event type -> payload. */
export type AppIncoming = {
  chat: { from: string; text: string; at: number };
};

export type AppSocket = SecureWebSocket<AppOutgoing, AppIncoming>;

export type AppSocketOptions = Omit<SecureWebSocketOptions<AppIncoming>, 'url'> & {
  /** @default the page's own host at `/ws` in a browser, else `ws://localhost:3000/ws` (the demo server) */
  url?: string;
};

/** The demo endpoint: the page's own host in a browser, the demo server's default port elsewhere. */
export function defaultSocketUrl(): string {
  const loc = (globalThis as { location?: { protocol?: string; host?: string } }).location;
  if (loc?.host) return `${loc.protocol === 'https:' ? 'wss' : 'ws'}://${loc.host}/ws`;
  return 'ws://localhost:3000/ws';
}

/** This app's defaults: a chat should come back quickly, so the backoff cap is 10 s. */
export const APP_DEFAULTS = {
  reconnect: { maxDelayMs: 10_000 },
} as const satisfies Partial<SecureWebSocketOptions>;

/** A SecureWebSocket for this app, typed with its messages and with the app's defaults. */
export function createAppSocket(options: AppSocketOptions): AppSocket {
  return new SecureWebSocket<AppOutgoing, AppIncoming>({
    ...options,
    url: options.url ?? defaultSocketUrl(),
    reconnect: options.reconnect === false ? false : { ...APP_DEFAULTS.reconnect, ...options.reconnect },
  });
}
