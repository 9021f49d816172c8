import type { KeyObject } from 'node:crypto';
import type { JWK } from 'jose';
import type { Logger, LoggerOptions } from 'pino';
import type { z } from 'zod';
import type { AnomalyEvent, AnomalyOptions } from './anomaly/index.js';
import type { ChannelsOptions } from './channels/types.js';
import type { Principal } from './connection/state.js';
import type { DashboardOptions } from './dashboard/options.js';
import type { SecurityEvent } from './events.js';
import type { LimitsOptions } from './limits/options.js';
import type { BackpressureOptions } from './monitor/backpressure.js';
import type { HttpEndpointsOptions } from './monitor/http.js';
import type { StandardSchemaV1 } from './pipeline/standard-schema.js';
import type { SessionOptions } from './session/options.js';
import type { UpgradeRequest } from './socket.js';
import type { Store } from './stores/types.js';

export type { Principal } from './connection/state.js';

/** A custom token check. Return `null` (or throw) to refuse. Its result type is `ctx.user`'s. */
export type VerifyToken<U extends Principal<object> = Principal> = (
  token: string,
  req: UpgradeRequest,
) => U | null | Promise<U | null>;

export interface JwtOptions {
  /** HMAC secret for HS256/384/512. */
  secret?: string | Uint8Array;
  /** Public key: PEM (SPKI), a KeyObject or a JWK, for RS/PS/ES/EdDSA. */
  publicKey?: string | KeyObject | JWK;
  /** JWKS endpoint; keys are fetched and cached by `jose`. */
  jwksUrl?: string | URL;
  /**
   * Accepted algorithms, pinned: a token signed with any other (including `none`) is refused.
   * @default ['HS256'] with `secret`, ['RS256'] with `publicKey`, ['RS256', 'ES256', 'EdDSA'] with `jwksUrl`
   */
  algorithms?: string[];
  /** Required `iss`. @default undefined (not checked) */
  issuer?: string | string[];
  /** Required `aud`. @default undefined (not checked) */
  audience?: string | string[];
  /**
   * Allowed clock skew for `exp`/`nbf`, seconds. Opt-in: with the default an expired token is
   * refused the second it expires, as docs/PROTOCOL.md says; raise it only for issuers whose
   * clocks you cannot sync.
   * @default 0
   */
  clockTolerance?: number;
  /** Claim that holds the user id. @default 'sub' */
  subjectClaim?: string;
  /** Refuse tokens without `exp`. @default true */
  requireExp?: boolean;
  /**
   * Zod schema the claims must pass, or the token is refused. Its output (over the registered
   * claims, which are kept) becomes `user.claims`; for typed claims in handlers, pass
   * `verify: createJwtVerifier({ ..., claims })`. @default undefined (claims not checked)
   */
  claims?: z.ZodType<object>;
}

export interface AuthOptions<U extends Principal<object> = Principal> {
  /** Verify JWTs with `jose`. */
  jwt?: JwtOptions;
  /** Your own check; when both are set, `verify` runs and `jwt` is not used. */
  verify?: VerifyToken<U>;
}

/**
 * A schema per message type, from any Standard Schema validator (Zod 4, Valibot, ArkType):
 * the only types a client may send. Handlers get the schema's output type.
 */
export type MessageSchemas = Record<string, StandardSchemaV1>;

/** What a handler gets besides the validated payload. */
export interface HandlerContext<U extends Principal<object> = Principal> {
  readonly user: U;
  readonly sessionId: string;
  /** Random id of this socket, in every log line about it. */
  readonly connectionId: string;
  /** The client IP (see `trustProxy`). */
  readonly ip: string;
  /** Sends an application event to this socket. */
  send(type: string, payload: unknown): void;
  /** Sends an application event to every authenticated socket (on every node, with a shared store). */
  broadcast(type: string, payload: unknown): void;
  /** Closes this socket. @default code 1000 */
  close(code?: number): void;
  /**
   * Subscribes this socket to a declared channel, without asking `authorize` (server code decides).
   * Rejects with a WsgError `WSG_UNKNOWN_CHANNEL` or `WSG_TOO_MANY_SUBSCRIPTIONS`.
   */
  subscribe(channel: string): Promise<void>;
  /** Drops this socket's subscription (no `unsubscribed` frame: the server chose it). */
  unsubscribe(channel: string): void;
  /** Publishes an event on a declared channel, to its subscribers on every node. */
  publish(channel: string, event: string, payload: unknown): Promise<void>;
  /** Would this user's subscribe to `channel` be allowed (declared, and its `authorize` says yes)? */
  canSubscribe(channel: string): Promise<boolean>;
}

export type Handler<P = unknown, U extends Principal<object> = Principal> = (
  ctx: HandlerContext<U>,
  payload: P,
) => unknown;

export type Handlers<M extends MessageSchemas, U extends Principal<object> = Principal> = {
  [K in keyof M]?: Handler<StandardSchemaV1.InferOutput<M[K]>, U>;
};

/**
 * Decides whether `user` may send this message. `false` refuses it with `WSG_FORBIDDEN` (the
 * socket stays open, the refusal counts toward the penalty ladder); throwing `appError(...)`
 * refuses it with the app's own code; any other throw is `WSG_INTERNAL`.
 */
export type Authorize<U extends Principal<object> = Principal, P = unknown> = (
  user: U,
  payload: P,
  ctx: HandlerContext<U>,
) => boolean | Promise<boolean>;

/** Per message type, who may send it (`{ chat: requireScope('chat:write') }`). */
export type AuthorizeRules<M extends MessageSchemas, U extends Principal<object> = Principal> = {
  [K in keyof M]?: Authorize<U, StandardSchemaV1.InferOutput<M[K]>>;
};

export interface WsGuardOptions<
  M extends MessageSchemas = MessageSchemas,
  U extends Principal<object> = Principal,
> {
  /** Token verification. Required: every connection is authenticated. */
  auth: AuthOptions<U>;
  /** URL path of the endpoint. @default '/ws' */
  path?: string;
  /** A schema per application message type (Zod 4, Valibot, ArkType: any Standard Schema). @default {} */
  messages?: M;
  /** Handler per message type; a type with a schema and no handler is validated and acked. @default {} */
  handlers?: Handlers<M, U>;
  /**
   * Per message type, who may send it; checked after schema, CSRF and rate limits, before the
   * handler. A refusal is `WSG_FORBIDDEN` and counts toward the penalty ladder.
   * @default no rules: every authenticated user may send every declared type
   */
  authorize?: AuthorizeRules<M, U>;
  /**
   * Channel patterns (`'room:{name}'`) clients may subscribe to, each with its `authorize`;
   * no pattern, no channel (docs/channels.md). @default no channels: every subscribe is WSG_UNKNOWN_CHANNEL
   */
  channels?: ChannelsOptions<U>;
  /** Most channels one socket may be subscribed to; past it, WSG_TOO_MANY_SUBSCRIPTIONS. @default 100 */
  maxSubscriptions?: number;
  /**
   * Exact origins allowed (`https://app.example.com`). `Origin: null` is always refused.
   * @default undefined: only the request's own host (same-origin) is allowed
   */
  allowedOrigins?: string[];
  /**
   * Host names the `Host` header may name (`app.example.com` on any port, `app.example.com:8443`
   * exactly); anything else is refused 403 `WSG_ORIGIN_FORBIDDEN`. Stops DNS rebinding, where a
   * page of the attacker's reaches this server under the attacker's name, Host and Origin alike.
   * Behind a proxy, the Host the proxy forwards.
   * @default in production: the hosts of `allowedOrigins`, and setup throws when neither is set;
   * otherwise undefined (any Host)
   */
  allowedHosts?: string[];
  /**
   * Refuse upgrades with no `Origin` header (non-browser clients send none).
   * @default true when `allowedOrigins` is set, false otherwise
   */
  requireOrigin?: boolean;
  /**
   * Refuse non-TLS upgrades with 426, unless they came through a trusted proxy that says
   * `X-Forwarded-Proto: https`.
   * @default process.env.NODE_ENV === 'production'
   */
  requireTls?: boolean;
  /** Proxies (CIDR list or addresses) whose `X-Forwarded-*` headers are believed. @default [] */
  trustProxy?: string[];
  /** Accept `?token=` in the URL. Tokens in URLs leak into logs and history. @default false */
  allowQueryToken?: boolean;
  /**
   * Time from the socket opening to `auth_ok`, whether the token came in an `auth` message or with
   * the upgrade; also bounds the upgrade gate's own checks (token, store), answered 503 past it.
   * @default 5000
   */
  authTimeoutMs?: number;
  /**
   * Longest a handler's promise may run before the message is answered `WSG_HANDLER_TIMEOUT`
   * (the socket stays open; the handler is not cancelled, its late result is dropped). Bounds
   * what one hanging handler holds: the in-flight count graceful shutdown waits for, the id's
   * dedupe entry. @default 30000
   */
  handlerTimeoutMs?: number;
  /** Largest message in bytes; bigger ones close the socket with 1009. @default 65536 */
  maxPayload?: number;
  /**
   * Largest frame accepted before auth, bytes (only an `auth` message is valid then); a larger
   * one is closed 1009 `WSG_MESSAGE_TOO_LARGE` before any JSON work, so an anonymous client
   * cannot make the server parse `maxPayload` bytes of hostile JSON.
   * @default 10240
   */
  preAuthMaxPayload?: number;
  /** Deepest JSON nesting accepted. @default 32 */
  maxDepth?: number;
  /** Most JSON object keys and array items in one message. @default 2000 */
  maxKeys?: number;
  /** permessage-deflate; when on, the inflated size is still bounded by `maxPayload`. @default false */
  perMessageDeflate?: boolean;
  /** Require the session's CSRF token in every application message. @default true */
  csrf?: boolean;
  /** Application types that need no CSRF token (control messages never do). @default [] */
  csrfExempt?: string[];
  /** How many recent message ids per user are remembered, so a resent id is acked again, not handled again. @default 1000 */
  dedupeWindow?: number;
  /**
   * How long a message id is remembered after it was first seen. A client resends an unacked
   * message only until its ack timeout (`ackTimeoutMs` of SecureWebSocket, default 30 s), so keep
   * this above the clients' ack timeout; memory grows with the messages handled within it.
   * @default 60000
   */
  dedupeTtlMs?: number;
  /**
   * Bytes one user's remembered replies and ids may hold (estimated: 2 bytes a character, plus
   * ~150 bytes of bookkeeping an id). Over it the user's oldest replies are let go first; their
   * ids are kept, so a resend is answered `WSG_RESULT_EXPIRED` and never handled twice.
   * @default 262144
   */
  dedupeUserBytes?: number;
  /**
   * Bytes all users' remembered replies and ids may hold; over it the oldest replies over all
   * users are let go first (in the order they arrived), then, only when no reply is left, the
   * oldest ids. @default 33554432
   */
  dedupeTotalBytes?: number;
  /**
   * A reply larger than this (estimated bytes, 2 a character) is not remembered, only its id: a
   * resend is answered `WSG_RESULT_EXPIRED` (handled, result not kept) instead of the whole reply
   * again. @default 4096
   */
  dedupeMaxResultBytes?: number;
  /**
   * Route binary frames to this message type's handler (payload is a Buffer, no schema).
   * @default undefined: binary frames are refused with WSG_BINARY_NOT_ALLOWED
   */
  binaryType?: string;
  /** Transport ping interval; a socket that has not answered the previous ping is terminated. @default 30000 */
  heartbeatMs?: number;
  /** Session lifetime, idle timeout, refresh window (docs/sessions-and-monitoring.md). @default see SessionOptions */
  session?: SessionOptions;
  /** Slow readers: sockets whose send queue stays too long are closed 1013. @default see BackpressureOptions */
  backpressure?: BackpressureOptions;
  /** `/healthz` and `/metrics` on the same http server. @default see HttpEndpointsOptions */
  http?: HttpEndpointsOptions;
  /**
   * The live security dashboard (docs/dashboard.md) at `dashboard.path`, guarded by `dashboard.token`.
   * @default undefined (no dashboard: its path answers nothing)
   */
  dashboard?: DashboardOptions;
  /**
   * Rate-limit layers and the penalty ladder (docs/rate-limits.md); `false` switches all off.
   * @default every layer on with the defaults in LimitsOptions
   */
  limits?: LimitsOptions | false;
  /** Anomaly scoring (docs/rate-limits.md); `false` switches it off. @default on, see AnomalyOptions */
  anomaly?: AnomalyOptions | false;
  /** Called when an anomaly score crosses a threshold (after wsguard's own action). @default undefined */
  onAnomaly?: (event: AnomalyEvent) => void;
  /** Clock for limits, penalties and scores (tests inject one). @default Date.now */
  now?: () => number;
  /**
   * Shared state: rate-limit buckets, penalties, sessions, revocations, pub/sub.
   * @default memoryStore() (one process)
   */
  store?: Store;
  /**
   * Security log: a pino logger, pino options, or false for none.
   * @default a pino logger at level 'info' writing JSON to stdout
   */
  logger?: Logger | LoggerOptions | false;
  /** Called for every security event (after logging). @default undefined */
  onEvent?: (event: SecurityEvent) => void;
}
