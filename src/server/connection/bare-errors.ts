import { DEFAULTS } from '../defaults.js';

/** Id-less `error` replies still allowed in the current second, per socket. */
export interface BareErrors {
  left: number;
  since: number;
}

/**
 * Whether a socket may get one more `error` reply that names no message. Such a reply settles
 * nothing on the client, and a flood of frames refused that way (text that does not parse, a
 * bare `{"type":"ping"}`) would get one reply each, several times the size of what was refused.
 * As with ICMP errors (RFC 1812, 4.3.2.8), a socket gets at most
 * `DEFAULTS.internal.bareErrorsPerSecond` of them a second; the others are counted, scored and
 * logged like any refusal, not answered. (A refusal naming an id or a retry-after, and every
 * close, is always sent: the caller asks only for the others.)
 */
export function answerBare(conn: { bareErrors: BareErrors | undefined }, now: number): boolean {
  const b = conn.bareErrors;
  if (b === undefined || now - b.since >= 1000) {
    conn.bareErrors = { left: DEFAULTS.internal.bareErrorsPerSecond - 1, since: now };
    return true;
  }
  if (b.left === 0) return false;
  b.left--;
  return true;
}
