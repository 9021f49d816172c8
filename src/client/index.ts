export type {
  AnyChannels,
  ChannelEvents,
  ChannelMap,
  ChannelName,
  ChannelPublish,
  ChannelsOf,
  defineProtocol,
  IncomingOf,
  OutgoingOf,
  ProtocolDef,
  SchemaLike,
} from '../protocol/define.js';
export { type BackoffOptions, backoffDelay } from './backoff.js';
export {
  MAX_CLIENT_CHANNELS,
  type PresenceView,
  type Publication,
  type PublicationOf,
  type SubscribeHandlers,
  type SubscribeResult,
  type Subscription,
  type SubscriptionState,
} from './channels.js';
export {
  CLOSE_POLICY,
  type CloseAction,
  type CloseCause,
  type CloseInfo,
  closeAction,
} from './close-policy.js';
export {
  AckTimeoutError,
  AuthError,
  ClosedError,
  ConnectionError,
  InboundTooLargeError,
  InvalidMessageError,
  MessageExpiredError,
  QueueOverflowError,
  SecureWebSocketError,
  ServerError,
  type ServerErrorCode,
} from './errors.js';
export type {
  ClientEventMap,
  ClientState,
  CloseEvent,
  LatencyEvent,
  OpenEvent,
  OutgoingMessage,
  QueueEvent,
  ResultOf,
  StateChangeEvent,
  WaitReason,
} from './events.js';
export { readJwtExpiry } from './jwt.js';
export type { ClientLogger } from './logger.js';
export type {
  HeartbeatOptions,
  IncomingMap,
  IncomingMessage,
  MessageSpec,
  OutgoingMap,
  QueueOptions,
  ReconnectOptions,
  RefreshOptions,
  SecureWebSocketOptions,
} from './options.js';
export type { OverflowPolicy } from './queue.js';
export { SecureWebSocket } from './secure-websocket.js';
export type { WebSocketConstructor, WebSocketLike } from './transport.js';
export { createProtocolSocket, type ProtocolSocket } from './typed.js';
