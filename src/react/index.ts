export {
  type ChannelSource,
  type ChannelView,
  type UseChannelOptions,
  useChannel,
  usePresence,
} from './use-channel.js';
export { type SecureWebSocketView, useSecureWebSocket } from './use-secure-websocket.js';
