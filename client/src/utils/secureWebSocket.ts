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
  /** A chat line: published on `room:<room>`, or broadcast to everyone without a room. */
  chat: { payload: { room?: string; text: string }; result: undefined };
  /** A direct message, published on `user:<to>`. */
  dm: { payload: { to: string; text: string }; result: undefined };
};

import type { ChatLine } from '../../../server/events.js';

/** A line of chat or a direct message, as the server publishes it (its schema: server/events.ts). */
export type { ChatLine };

/** This app's channels (server/websocket.ts): what each carries and what a client may publish. */
export type AppChannels = {
  'room:{name}': {
    names: `room:${string}`;
    events: { chat: ChatLine; typing: { from: string } };
    publish: { typing: Record<string, never> };
  };
  'user:{id}': { names: `user:${string}`; events: { dm: ChatLine }; publish: Record<never, never> };
};

/** The user a JWT names (`sub`), read without verifying: only to label the page. */
export function tokenSubject(token: string): string | undefined {
  const part = token.split('.')[1];
  if (!part) return undefined;
  try {
    const json = atob(part.replace(/-/g, '+').replace(/_/g, '/'));
    const sub = (JSON.parse(json) as { sub?: unknown }).sub;
    return typeof sub === 'string' ? sub : undefined;
  } catch {
    return undefined;
  }
}

/** What this app receives: event type -> payload. */
export type AppIncoming = {
  chat: { from: string; text: string; at: number };
};

export type AppSocket = SecureWebSocket<AppOutgoing, AppIncoming, AppChannels>;

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
  return new SecureWebSocket<AppOutgoing, AppIncoming, AppChannels>({
    ...options,
    url: options.url ?? defaultSocketUrl(),
    reconnect: options.reconnect === false ? false : { ...APP_DEFAULTS.reconnect, ...options.reconnect },
  });
}
