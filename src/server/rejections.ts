import { type ErrorCode, ErrorCodes, errorCodeList } from '../protocol/index.js';
import type { AnomalySignal, ResolvedAnomaly } from './anomaly/index.js';
import type { WsgError } from './errors.js';
import type { EventBus, SecurityEventName, SocketEvent } from './events.js';
import type { GateRejection } from './gate/index.js';
import type { ResolvedPenalties } from './limits/options.js';

/**
 * How the server answers each refusal, in one table. The wire side (the `error` reply or the
 * close, its close code, the HTTP status at the upgrade) is the code's entry in
 * src/protocol/error-codes.ts; this table is the server side:
 *
 * - `event`: the security event logged when the refusal hits an open socket (`undefined`: the
 *   auth path logs its own `auth.failure` with a better detail).
 * - `upgradeEvent`: the event logged when the upgrade gate refuses with the code (HTTP answer).
 * - `signal`: the anomaly signal added to the socket's, user's and IP's scores. A socket whose
 *   score reaches `anomaly.thresholds.disconnect` is closed 1008 `WSG_ANOMALY`; so with the
 *   defaults the 5th `WSG_CSRF_INVALID` in a row (weight 5 x 5 = 25) closes the socket 1008
 *   (the 6th if time lets the score decay a little), and at `block` the IP is banned.
 *   `closesAfter()` gives N for any code.
 * - `strike`: counts on the penalty ladder: `limits.penalties.strikes` of them within
 *   `strikeWindowMs` close the socket 4429 `WSG_BLOCKED` and block the user and IP.
 * - `authFailure`: counts toward `limits.authFailures` for the IP (then its auth is blocked).
 *
 * docs/PROTOCOL.md, "How each refusal counts", shows this table (a test keeps them equal).
 */
export interface RejectionRule {
  readonly event: SecurityEventName | undefined;
  readonly upgradeEvent: SecurityEventName;
  readonly signal: AnomalySignal | undefined;
  readonly strike: boolean;
  readonly authFailure: boolean;
}

const plain: RejectionRule = {
  event: 'message.rejected',
  upgradeEvent: 'connection.rejected',
  signal: undefined,
  strike: false,
  authFailure: false,
};

export const REJECTIONS: Readonly<Record<ErrorCode, RejectionRule>> = Object.freeze({
  WSG_AUTH_REQUIRED: { ...plain, event: undefined, signal: 'authFailure', authFailure: true },
  WSG_AUTH_FAILED: {
    ...plain,
    event: undefined,
    upgradeEvent: 'auth.failure',
    signal: 'authFailure',
    authFailure: true,
  },
  WSG_AUTH_TIMEOUT: plain,
  WSG_SESSION_EXPIRED: plain,
  WSG_SESSION_REVOKED: plain,
  WSG_ORIGIN_FORBIDDEN: { ...plain, upgradeEvent: 'origin.rejected' },
  WSG_TLS_REQUIRED: plain,
  WSG_BAD_REQUEST: plain,
  WSG_MESSAGE_TOO_LARGE: { ...plain, signal: 'oversized' },
  WSG_BINARY_NOT_ALLOWED: { ...plain, signal: 'binary' },
  WSG_INVALID_JSON: { ...plain, signal: 'malformed' },
  WSG_UNSAFE_JSON: { ...plain, signal: 'unsafeJson' },
  WSG_INVALID_MESSAGE: { ...plain, signal: 'malformed' },
  WSG_UNKNOWN_TYPE: { ...plain, signal: 'unknownType' },
  WSG_VALIDATION_FAILED: { ...plain, event: 'validation.failure', signal: 'validation' },
  // Replied `error`, the socket stays open; weight 5: the 5th in a row closes 1008 WSG_ANOMALY.
  WSG_CSRF_INVALID: { ...plain, event: 'csrf.failure', signal: 'csrf' },
  WSG_RATE_LIMITED: { ...plain, event: 'rate.limited', signal: 'rateLimit', strike: true },
  WSG_BLOCKED: plain,
  WSG_TOO_MANY_CONNECTIONS: plain,
  WSG_BANNED: plain,
  WSG_ANOMALY: plain,
  WSG_OVERLOADED: plain,
  WSG_SHUTTING_DOWN: plain,
  WSG_HANDLER_TIMEOUT: plain,
  WSG_RESULT_EXPIRED: plain,
  // Authorization refusals strike like rate limits: probing for someone else's channels or types
  // is closed 4429 at `limits.penalties.strikes` (default 20 in 10 s), each also weight 1 of anomaly.
  WSG_FORBIDDEN: { ...plain, event: 'authz.forbidden', signal: 'forbidden', strike: true },
  WSG_UNKNOWN_CHANNEL: { ...plain, event: 'authz.forbidden', signal: 'forbidden', strike: true },
  WSG_TOO_MANY_SUBSCRIPTIONS: { ...plain, signal: 'forbidden', strike: true },
  WSG_INTERNAL: plain,
} satisfies Record<ErrorCode, RejectionRule>);

export function rejectionOf(code: ErrorCode): RejectionRule {
  return REJECTIONS[code];
}

/**
 * How many of this refusal, back to back on one socket, end it, and how: by anomaly score
 * (1008 `WSG_ANOMALY`), by strikes (4429 `WSG_BLOCKED`), or by the code itself (its registry
 * entry closes). Undefined when repeats never close the socket. Scores halve every
 * `halfLifeMs`, so refusals spread over time need more (CSRF with the defaults: the 5th at
 * once, the 6th when they come up to about 6 s apart).
 * `WSG_RATE_LIMITED` refusals count only when the socket did not wait its retry-after
 * (protection.ts, `createObedience`): a flood's first refusal is free, so it is one more.
 */
export function closesAfter(
  code: ErrorCode,
  anomaly: Pick<ResolvedAnomaly, 'weights' | 'thresholds'> | false,
  penalties: Pick<ResolvedPenalties, 'strikes'> | false,
): { count: number; closeCode: number; code: ErrorCode } | undefined {
  if (ErrorCodes[code].closes) return { count: 1, closeCode: ErrorCodes[code].closeCode, code };
  const rule = REJECTIONS[code];
  const options: { count: number; closeCode: number; code: ErrorCode }[] = [];
  const weight = anomaly && rule.signal ? anomaly.weights[rule.signal] : 0;
  if (anomaly && weight > 0) {
    options.push({
      count: Math.ceil(anomaly.thresholds.disconnect / weight),
      closeCode: ErrorCodes.WSG_ANOMALY.closeCode,
      code: 'WSG_ANOMALY',
    });
  }
  if (penalties && rule.strike) {
    options.push({
      count: penalties.strikes,
      closeCode: ErrorCodes.WSG_BLOCKED.closeCode,
      code: 'WSG_BLOCKED',
    });
  }
  return options.sort((a, b) => a.count - b.count)[0];
}

/** Every code with its rule, in registry order (docs and tests read this). */
export function rejectionTable(): { code: ErrorCode; rule: RejectionRule }[] {
  return errorCodeList.map((code) => ({ code, rule: REJECTIONS[code] }));
}

export interface RejectionDeps<C> {
  events: EventBus;
  /** Stats: refusals by code. */
  count(code: ErrorCode): void;
  /** Applies the rule's signal, strike and auth-failure count (protection.ts); may close the socket. */
  penalise(conn: C, code: ErrorCode, retryAfterMs: number | undefined): void;
}

/**
 * Applies the table. The reply itself (`error` frame or close) is the connection's, from the
 * code's registry entry; this counts the refusal, penalises it and logs its event.
 */
export function createRejectionHandler<C extends { event(e: SocketEvent): void }>(deps: RejectionDeps<C>) {
  return {
    /** A refusal on a socket (a message, a frame, the auth phase). */
    onSocket(conn: C, error: WsgError, m: { readonly type: string } | undefined): void {
      const code = error.code;
      deps.count(code);
      deps.penalise(conn, code, error.retryAfterMs);
      const event = REJECTIONS[code].event;
      if (event === undefined) return;
      conn.event({
        event,
        level: 'warn',
        code,
        detail: m ? `${m.type}: ${String(error.detail ?? '')}` : error.detail,
      });
    },
    /** A refusal at the upgrade gate (answered with an HTTP status by the adapter). */
    onUpgrade(ip: string, rejection: GateRejection): void {
      const { code, detail } = rejection;
      deps.count(code);
      deps.events.emit({
        event: REJECTIONS[code].upgradeEvent,
        level: 'warn',
        ip,
        code,
        ...(detail !== undefined ? { detail } : {}),
      });
    },
  };
}
