import { z } from 'zod';
import { errorCodeList } from './error-codes.js';
import {
  APP_ERROR_CODE_PATTERN,
  APP_TYPE_PATTERN,
  CHANNEL_NAME_PATTERN,
  isReservedType,
  MAX_APP_ERROR_MESSAGE,
  MAX_CHANNEL_NAME,
  MESSAGE_ID_PATTERN,
} from './messages.js';

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

const messageId = z.string().regex(MESSAGE_ID_PATTERN);
const csrf = z.string().max(256);
/** A channel name as the protocol allows it; the server may still not know it (WSG_UNKNOWN_CHANNEL). */
export const channelNameSchema = z.string().max(MAX_CHANNEL_NAME).regex(CHANNEL_NAME_PATTERN);
const position = z.strictObject({ epoch: z.string().max(64), offset: z.number().int().nonnegative() });

export const subscribeMessageSchema = z.strictObject({
  id: messageId,
  type: z.literal('subscribe'),
  channel: z.string(),
  csrf,
  since: position.optional(),
});
export const unsubscribeMessageSchema = z.strictObject({
  id: messageId,
  type: z.literal('unsubscribe'),
  channel: z.string(),
  csrf,
});
export const publishMessageSchema = z.strictObject({
  id: messageId,
  type: z.literal('publish'),
  channel: z.string(),
  event: z.string().regex(APP_TYPE_PATTERN),
  payload: z.unknown(),
  csrf,
});

export const publicationMessageSchema = z.object({
  type: z.literal('publication'),
  channel: channelNameSchema,
  event: z.string(),
  payload: z.unknown(),
  offset: z.number().int().optional(),
  epoch: z.string().optional(),
});
export const unsubscribedMessageSchema = z.object({
  type: z.literal('unsubscribed'),
  channel: channelNameSchema,
  code: z.enum(errorCodeList as [string, ...string[]]),
});

const announcedRateSchema = z.object({ rate: z.number().positive(), burst: z.number().min(1) });
export const announcedLimitsSchema = z.object({
  maxPayload: z.number(),
  maxSubscriptions: z.number().int().min(0).optional(),
  messagesPerSecond: z.number().positive().optional(),
  burst: z.number().min(1).optional(),
  bytes: announcedRateSchema.optional(),
  user: announcedRateSchema.optional(),
  types: z
    .record(z.string(), announcedRateSchema.extend({ cost: z.number().positive().optional() }))
    .optional(),
  connectionsPerIp: z.object({ max: z.number().min(1), windowMs: z.number().positive() }).optional(),
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
  code: z.union([z.enum(errorCodeList as [string, ...string[]]), z.string().regex(APP_ERROR_CODE_PATTERN)]),
  message: z.string().max(MAX_APP_ERROR_MESSAGE),
  retryAfterMs: z.number().optional(),
});
export const pongMessageSchema = z.object({ type: z.literal('pong'), ts: z.number() });
export const sessionExpiringMessageSchema = z.object({
  type: z.literal('session_expiring'),
  expiresAt: z.number(),
});
