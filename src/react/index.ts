export { type SecureWebSocketView, useSecureWebSocket } from './use-secure-websocket.js';
