import type { Channels } from '../channels/index.js';
import type { Member } from '../channels/registry.js';
import type { HandlerContext } from '../options.js';
import { eventFrame } from '../pipeline/frames.js';
import type { Principal } from './state.js';

/** What a handler's context reaches on its socket (connection.ts's Connection). */
export interface ContextOwner extends Member {
  readonly user: Principal | undefined;
  readonly sessionId: string | undefined;
  readonly connectionId: string;
  readonly ip: string;
  readonly host: {
    broadcast(type: string, payload: unknown): void;
    readonly channels: Pick<Channels, 'subscribeAs' | 'unsubscribeAs' | 'publish' | 'allowed'>;
  };
  sendFrame(frame: string): void;
  closeSocket(code: number, reason: string): void;
}

/** The context handlers get: made once per socket, on its first handled message. */
export function createHandlerContext(conn: ContextOwner): HandlerContext {
  return {
    get user() {
      return conn.user as Principal;
    },
    get sessionId() {
      return conn.sessionId as string;
    },
    connectionId: conn.connectionId,
    ip: conn.ip,
    send: (type, payload) => conn.sendFrame(eventFrame(type, payload)),
    broadcast: (type, payload) => conn.host.broadcast(type, payload),
    subscribe: (channel) => conn.host.channels.subscribeAs(conn, channel),
    unsubscribe: (channel) => conn.host.channels.unsubscribeAs(conn, channel),
    publish: (channel, event, payload) => conn.host.channels.publish(channel, event, payload),
    canSubscribe: (channel) => conn.host.channels.allowed(conn.user as Principal, channel),
    close: (code = 1000) => {
      // Only codes an application may send (RFC 6455 7.4): fail the handler, not the socket.
      if (code !== 1000 && (code < 3000 || code > 4999 || !Number.isInteger(code))) {
        throw new RangeError(`close code must be 1000 or 3000-4999, got ${code}`);
      }
      conn.closeSocket(code, '');
    },
  };
}
