export type { AnomalyEvent, AnomalyOptions, AnomalySignal } from './anomaly/index.js';
export { AppError, appError } from './app-error.js';
export { createJwtVerifier, type RegisteredClaims } from './auth/jwt.js';
export { type Authorize, requireClaim, requireScope } from './authorization.js';
export { capabilities, capabilityAllows } from './channels/capabilities.js';
export type {
  ChannelAction,
  ChannelAuthorize,
  ChannelAuthorizeContext,
  ChannelHistoryOptions,
  ChannelOptions,
  ChannelStats,
  ChannelsOptions,
  UnsubscribeOptions,
} from './channels/types.js';
export type { DashboardOptions } from './dashboard/options.js';
export { type ConfigErrorCode, ConfigErrorCodes, WsgConfigError, WsgError } from './errors.js';
export type { EventListener, SecurityEvent, SecurityEventName } from './events.js';
export type { LimitsOptions, PenaltyOptions, TypeLimit, WindowLimit } from './limits/options.js';
export type { BackpressureOptions } from './monitor/backpressure.js';
export type { HttpEndpointsOptions } from './monitor/http.js';
export type { ServerStats } from './monitor/stats.js';
export type {
  AuthOptions,
  AuthorizeRules,
  Handler,
  HandlerContext,
  Handlers,
  JwtOptions,
  MessageSchemas,
  Principal,
  VerifyToken,
  WsGuardOptions,
} from './options.js';
export type { StandardSchemaV1 } from './pipeline/standard-schema.js';
export { escapeHtml, richText, safeText } from './sanitize.js';
export type { BanOptions, CloseOptions } from './server.js';
export type { SessionOptions } from './session/options.js';
export { setupWebSockets, type WsGuardServer } from './setup.js';
export type { UpgradeRequest } from './socket.js';
export { type MemoryStoreOptions, memoryStore } from './stores/memory/index.js';
export { type FailMode, type RedisStore, type RedisStoreOptions, redisStore } from './stores/redis/index.js';
export type * from './stores/types.js';
