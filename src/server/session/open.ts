import type { AnnouncedLimits } from '../../protocol/index.js';
import type { Principal } from '../connection/state.js';
import type { Connection } from '../connection.js';
import { WsgError } from '../errors.js';
import { authOkFrame } from '../pipeline/frames.js';
import type { Protection } from '../protection.js';
import type { SessionManager } from './sessions.js';

/** A store call failed: logged with the cause, answered `WSG_OVERLOADED` (no detail on the wire). */
export function storeUnavailable(conn: Pick<Connection, 'event'>, err: unknown): WsgError {
  conn.event({
    event: 'handler.error',
    level: 'error',
    code: 'WSG_OVERLOADED',
    detail: `store: ${String(err)}`,
  });
  return new WsgError('WSG_OVERLOADED', { detail: 'store unavailable' });
}

/** After the token is verified: blocks, revocation, the session record, the user's socket slot; then auth_ok. */
export type SessionOpener = (
  conn: Connection,
  principal: Principal,
) => Promise<{ sessionId: string; csrfToken: string; frame: string } | WsgError>;

export function createSessionOpener(o: {
  protection: Protection;
  sessions: SessionManager;
  heartbeatMs: number;
  /** What auth_ok announces (the same for every session of this server). */
  limits: AnnouncedLimits;
}): SessionOpener {
  const { protection, sessions, heartbeatMs, limits } = o;
  return async (conn, principal) => {
    try {
      const refused = await protection.admitUser(principal.id);
      if (refused) {
        return new WsgError(
          refused.code,
          refused.retryAfterMs === undefined ? {} : { retryAfterMs: refused.retryAfterMs },
        );
      }
      const opened = await sessions.open(conn, principal);
      if (opened instanceof WsgError) return opened;
      const noSlot = await protection.acquireUserSlot(conn);
      if (noSlot) {
        sessions.close(conn);
        return noSlot;
      }
      const { record } = opened;
      const frame = authOkFrame({
        sessionId: record.id,
        csrfToken: record.csrfToken,
        expiresAt: record.expiresAt,
        heartbeatMs,
        limits,
      });
      return { sessionId: record.id, csrfToken: record.csrfToken, frame };
    } catch (err) {
      return storeUnavailable(conn, err);
    }
  };
}
