import { BEARER_SUBPROTOCOL_PREFIX, SUBPROTOCOL } from '../protocol/index.js';
import { ConnectionError } from './errors.js';
import type { DebugLog } from './logger.js';
import type { TokenSource } from './token-source.js';
import {
  openTransport,
  resolveWebSocket,
  type Transport,
  type TransportClose,
  type WebSocketConstructor,
} from './transport.js';
import { toError } from './util.js';

export interface DialOptions {
  url: string;
  authTransport: 'message' | 'protocol';
  /** The injected implementation, if any. */
  WebSocket: WebSocketConstructor | undefined;
  tokens: TokenSource;
  log: DebugLog;
  /** The inbound bound for this connection's socket. @default 1 MiB */
  maxInboundBytes?: number;
}

/** What one connection attempt reports; nothing is reported once `current()` turns false. */
export interface DialHandlers {
  /** Whether this attempt is still the one the client wants. */
  current(): boolean;
  /** The token this attempt authenticates with (before it is sent anywhere). */
  token(token: string): void;
  /** The socket exists (not yet open). */
  attached(transport: Transport): void;
  /** The socket opened; with `authTransport: 'message'` the `auth` frame follows at once. */
  opened(): void;
  message(text: string, token: string): void;
  closed(info: TransportClose): void;
  /** No usable token: the attempt failed before a socket was opened. */
  noToken(error: Error): void;
  /** No WebSocket implementation, or the constructor refused the URL: retrying cannot help. */
  fatal(error: ConnectionError): void;
}

/**
 * One connection attempt: a token and a WebSocket implementation (in parallel), the socket
 * with the wsguard subprotocol (and the bearer subprotocol when the token travels there), and
 * the `auth` frame as soon as it opens.
 */
export async function dial(o: DialOptions, h: DialHandlers): Promise<void> {
  let token: string;
  let Ctor: WebSocketConstructor;
  try {
    [token, Ctor] = await Promise.all([o.tokens.get(), resolveWebSocket(o.WebSocket, o.log)]);
  } catch (err) {
    if (!h.current()) return;
    if (err instanceof ConnectionError) return h.fatal(err);
    return h.noToken(toError(err));
  }
  if (!h.current()) return;
  h.token(token);
  const protocols = [SUBPROTOCOL];
  if (o.authTransport === 'protocol') protocols.push(BEARER_SUBPROTOCOL_PREFIX + token);
  let transport: Transport | undefined;
  let opened = false;
  try {
    transport = openTransport(
      Ctor,
      o.url,
      protocols,
      {
        open: () => {
          opened = true;
          if (!h.current()) return;
          h.opened();
          if (o.authTransport === 'message' && h.current()) {
            transport?.send(JSON.stringify({ type: 'auth', token }));
            o.log('auth sent');
          }
        },
        message: (text) => {
          if (h.current()) h.message(text, token);
        },
        close: (info) => {
          // The `auth` frame goes only on an open socket; a subprotocol token went with the
          // upgrade request, unless no connection was made at all. A 401 asks for a fresh token.
          const unsent = o.authTransport === 'message' || info.unreached === true;
          if (!opened && unsent && info.httpStatus !== 401) o.tokens.unspent(token);
          if (h.current()) h.closed(info);
        },
      },
      o.maxInboundBytes,
    );
  } catch (err) {
    return h.fatal(new ConnectionError('cannot open the WebSocket', { cause: err }));
  }
  h.attached(transport);
}
