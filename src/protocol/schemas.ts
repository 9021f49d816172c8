import { z } from 'zod';
import { errorCodeList } from './error-codes.js';
import { APP_TYPE_PATTERN, isReservedType, MESSAGE_ID_PATTERN } from './messages.js';

/**
 * Zod schemas of the wire protocol, for third-party peers and tests. The server's hot path
 * uses an equivalent hand-written check (src/server/pipeline/envelope.ts); a test keeps
 * the two in agreement.
 */
const token = z.string().min(1).max(8192);

export const authMessageSchema = z.strictObject({ type: z.literal('auth'), token });
export const refreshMessageSchema = z.strictObject({ type: z.literal('refresh'), token });
export const pingMessageSchema = z.strictObject({ type: z.literal('ping'), ts: z.number().finite() });
export const appMessageSchema = z.strictObject({
  id: z.string().regex(MESSAGE_ID_PATTERN).optional(),
  type: z
    .string()
    .regex(APP_TYPE_PATTERN)
    .refine((t) => !isReservedType(t), 'reserved type name'),
  payload: z.unknown().optional(),
  csrf: z.string().max(256).optional(),
});

const announcedRateSchema = z.object({ rate: z.number().positive(), burst: z.number().min(1) });
const announcedPairSchema = z.object({
  messages: announcedRateSchema.optional(),
  bytes: announcedRateSchema.optional(),
});
export const announcedLimitsSchema = z.object({
  maxPayload: z.number(),
  socket: announcedPairSchema.optional(),
  user: announcedPairSchema.optional(),
  types: z.record(z.string(), announcedRateSchema.extend({ cost: z.number().positive() })).optional(),
  maxSubscriptions: z.number().int().min(0).optional(),
});

export const authOkMessageSchema = z.object({
  type: z.literal('auth_ok'),
  sessionId: z.string(),
  csrfToken: z.string(),
  expiresAt: z.number(),
  heartbeatMs: z.number(),
  limits: announcedLimitsSchema.optional(),
});
export const refreshOkMessageSchema = z.object({
  type: z.literal('refresh_ok'),
  expiresAt: z.number(),
  csrfToken: z.string(),
  limits: announcedLimitsSchema.optional(),
});
export const ackMessageSchema = z.object({
  type: z.literal('ack'),
  id: z.string(),
  result: z.unknown().optional(),
});
export const errorMessageSchema = z.object({
  type: z.literal('error'),
  id: z.string().optional(),
  code: z.enum(errorCodeList as [string, ...string[]]),
  message: z.string().max(200),
  retryAfterMs: z.number().optional(),
});
export const pongMessageSchema = z.object({ type: z.literal('pong'), ts: z.number() });
export const sessionExpiringMessageSchema = z.object({
  type: z.literal('session_expiring'),
  expiresAt: z.number(),
});
