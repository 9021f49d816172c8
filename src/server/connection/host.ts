import type { TokenVerifier } from '../auth/verifier.js';
import type { Channels } from '../channels/index.js';
import type { ResolvedConfig } from '../config.js';
import type { Connection, ConnectionHost } from '../connection.js';
import type { Reply } from '../dispatch.js';
import type { EventBus } from '../events.js';
import { closeLabel, countUp, type StatsCounters } from '../monitor/stats.js';
import type { Stage } from '../pipeline/types.js';
import type { Protection } from '../protection.js';
import type { SessionOpener } from '../session/open.js';
import type { SessionManager } from '../session/sessions.js';
import type { Sockets } from './registry.js';

/** The parts a connection calls into, made by server.ts. */
export interface HostParts {
  config: Pick<ResolvedConfig, 'authTimeoutMs' | 'binaryType' | 'backpressure' | 'preAuthMaxPayload'>;
  events: EventBus;
  counters: StatsCounters;
  sockets: Sockets;
  protection: Protection;
  sessions: SessionManager;
  verifier: TokenVerifier;
  parse(text: string): unknown;
  readEnvelope: ConnectionHost['readEnvelope'];
  appStages: readonly Stage[];
  openSession: SessionOpener;
  refresh(conn: Connection, token: string): Promise<void>;
  dispatch(conn: Connection, m: Parameters<ConnectionHost['dispatch']>[1]): Reply;
  onRejected: ConnectionHost['onRejected'];
  broadcast(type: string, payload: unknown): void;
  closing(): boolean;
  channels: Channels;
}

/**
 * What every connection of one server shares (ConnectionHost): its stages, session calls, and
 * the bookkeeping done when a socket authenticates, settles a handler or closes.
 */
export function createConnectionHost(p: HostParts): ConnectionHost {
  const { counters, sockets, protection, sessions } = p;
  return {
    events: p.events,
    authTimeoutMs: p.config.authTimeoutMs,
    preAuthMaxPayload: p.config.preAuthMaxPayload,
    binaryType: p.config.binaryType,
    hardLimitBytes: p.config.backpressure.hardLimitBytes,
    received(data) {
      counters.messagesIn++;
      counters.bytesIn += typeof data === 'string' ? Buffer.byteLength(data) : data.length;
    },
    counted(frame) {
      counters.messagesOut++;
      counters.bytesOut += frame.length;
    },
    parse: p.parse,
    readEnvelope: p.readEnvelope,
    frameStages: protection.frameStages,
    appStages: p.appStages,
    controlStages: protection.appStages,
    verify: p.verifier,
    openSession: p.openSession,
    dispatch: p.dispatch,
    onRefresh: p.refresh,
    onAuthenticated(conn) {
      sockets.authenticated.add(conn);
      p.channels.authenticated(conn);
    },
    abandon(conn) {
      protection.closed(conn);
      sessions.close(conn);
    },
    onRejected: p.onRejected,
    get closing() {
      return p.closing();
    },
    onSettled: () => sockets.changed(),
    onClosed(conn, code) {
      protection.closed(conn);
      sessions.close(conn);
      sockets.all.delete(conn);
      sockets.authenticated.delete(conn);
      p.channels.closed(conn);
      countUp(counters.closes, closeLabel(code));
      conn.event({ event: 'connection.closed', level: 'info', closeCode: code });
      sockets.changed();
    },
    broadcast: p.broadcast,
    channels: p.channels,
  };
}
