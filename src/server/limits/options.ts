import { DEFAULTS } from '../defaults.js';
import type { BucketRate } from './token-bucket.js';

export interface WindowLimit {
  /** Most events in the window. */
  max: number;
  /** Window length, ms. */
  windowMs: number;
}

export interface TypeLimit extends BucketRate {
  /** Tokens one message of this type takes from the user's type bucket. @default 1 */
  cost?: number;
}

export interface PenaltyOptions {
  /** Refused messages on one socket, within `strikeWindowMs`, before it is closed 4429 and blocked. @default 20 */
  strikes?: number;
  /** @default 10000 */
  strikeWindowMs?: number;
  /** First block of the user and IP, ms. @default 30000 */
  blockMs?: number;
  /** Each repeat block within `offenceWindowMs` lasts this many times the previous. @default 2 */
  factor?: number;
  /** Longest block, ms. @default 3600000 (1 h) */
  maxBlockMs?: number;
  /** Blocks within `offenceWindowMs` after which the IP is banned (403 at the gate). @default 5 */
  banAfter?: number;
  /** @default 86400000 (24 h) */
  offenceWindowMs?: number;
  /** IP ban length, ms. @default 86400000 (24 h) */
  banMs?: number;
  /** Block the IP as well as the user (switch off when many users share an IP without a proxy header). @default true */
  blockIp?: boolean;
}

/** Rate-limit layers; each can be switched off with `false`. */
export interface LimitsOptions {
  /** Upgrade attempts per IP (429 + Retry-After at the gate). @default { max: 30, windowMs: 60000 } */
  connectionsPerIp?: WindowLimit | false;
  /** Open sockets per IP in this process (429 at the gate). @default 50 */
  concurrentPerIp?: number | false;
  /** Open sockets per user across processes sharing the store (close 4429 after auth). @default 20 */
  concurrentPerUser?: number | false;
  /** Messages per socket, token bucket, checked before any JSON work. @default { rate: 50, burst: 100 } */
  messages?: BucketRate | false;
  /** Bytes per socket, token bucket, checked before any JSON work. @default { rate: 1048576, burst: 2097152 } */
  bytes?: BucketRate | false;
  /** Messages per user across all their sockets (and processes, with a shared store). @default { rate: 100, burst: 200 } */
  user?: BucketRate | false;
  /** Per message type, per user: `{ chat: { rate: 5, burst: 10 } }`. @default {} */
  types?: Record<string, TypeLimit>;
  /** Failed authentications per IP before the IP's own auth block. @default { max: 10, windowMs: 300000, blockMs: 900000 } */
  authFailures?: (WindowLimit & { blockMs: number }) | false;
  /** The penalty ladder for repeated violations. @default see PenaltyOptions */
  penalties?: PenaltyOptions | false;
}

export interface ResolvedPenalties extends Required<PenaltyOptions> {}

export interface ResolvedLimits {
  connectionsPerIp: WindowLimit | false;
  concurrentPerIp: number | false;
  concurrentPerUser: number | false;
  messages: BucketRate | false;
  bytes: BucketRate | false;
  user: BucketRate | false;
  types: Record<string, TypeLimit>;
  authFailures: (WindowLimit & { blockMs: number }) | false;
  penalties: ResolvedPenalties | false;
}

/** The penalty ladder's defaults (DEFAULTS.limits.penalties). */
export const DEFAULT_PENALTIES: Readonly<ResolvedPenalties> = DEFAULTS.limits.penalties;

/** Every layer's defaults (DEFAULTS.limits). */
export const DEFAULT_LIMITS: Readonly<ResolvedLimits> = DEFAULTS.limits;
