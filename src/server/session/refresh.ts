import type { AnnouncedLimits } from '../../protocol/index.js';
import type { TokenVerifier } from '../auth/verifier.js';
import type { Connection } from '../connection.js';
import { DEFAULTS } from '../defaults.js';
import { WsgError } from '../errors.js';
import { type Bucket, fullBucket, take } from '../limits/token-bucket.js';
import { refreshOkFrame } from '../pipeline/frames.js';
import type { Protection } from '../protection.js';
import { storeUnavailable } from './open.js';
import type { SessionManager } from './sessions.js';

/**
 * A `refresh` on an open socket: the new token is verified like the first one (same subject,
 * not revoked), the session is extended (never past maxAgeMs) and `refresh_ok` sent. A refused
 * token closes the socket 4401 and counts as a failed authentication.
 */
export function createRefresher(o: {
  verifier: TokenVerifier;
  protection: Protection;
  sessions: SessionManager;
  /** The endpoint path, for the request a custom verify() is given. */
  path: string;
  /** Announced again in refresh_ok. */
  limits: AnnouncedLimits;
  /** After refresh_ok: what was granted under the old token is checked again (channels). */
  onRefreshed?(conn: Connection): void;
}): (conn: Connection, token: string) => Promise<void> {
  const { verifier, protection, sessions, path, limits } = o;
  // A refresh is a token check, store writes and a log line: its own tight limit per socket
  // (a session lives on one socket), on top of the per-user limits it already passed.
  const buckets = new WeakMap<Connection, Bucket>();
  return async (conn, token) => {
    const t = Date.now();
    const bucket = buckets.get(conn) ?? fullBucket(DEFAULTS.refresh, t);
    buckets.set(conn, bucket);
    const wait = take(bucket, DEFAULTS.refresh, 1, t);
    if (wait > 0) {
      return conn.reject(
        new WsgError('WSG_RATE_LIMITED', { retryAfterMs: wait, detail: 'refresh' }),
        undefined,
      );
    }
    const principal = await verifier(token, {
      url: path,
      method: 'GET',
      headers: {},
      remoteAddress: conn.ip,
      encrypted: false,
    });
    if (conn.state !== 'open') return;
    if (!principal) {
      conn.event({
        event: 'auth.failure',
        level: 'warn',
        code: 'WSG_AUTH_FAILED',
        detail: 'refresh token refused',
      });
      protection.rejected(conn, 'WSG_AUTH_FAILED');
      return conn.fail('WSG_AUTH_FAILED');
    }
    let result: Awaited<ReturnType<typeof sessions.refresh>>;
    try {
      result = await sessions.refresh(conn, principal);
    } catch (err) {
      result = storeUnavailable(conn, err);
    }
    if (conn.state !== 'open') return;
    if (result instanceof WsgError) {
      conn.event({
        event: 'auth.failure',
        level: 'warn',
        code: result.code,
        detail: String(result.detail),
      });
      return conn.fail(result.code);
    }
    conn.sendFrame(refreshOkFrame(result.expiresAt, result.csrfToken, limits));
    o.onRefreshed?.(conn);
  };
}
