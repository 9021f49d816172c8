export { type BackoffOptions, backoffDelay } from './backoff.js';
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
  InvalidMessageError,
  MessageExpiredError,
  QueueOverflowError,
  SecureWebSocketError,
  ServerError,
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
