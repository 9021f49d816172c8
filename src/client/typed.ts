import type { ChannelsOf, IncomingOf, OutgoingOf, ProtocolDef } from '../protocol/define.js';
import type { SecureWebSocketOptions } from './options.js';
import { SecureWebSocket } from './secure-websocket.js';

/** A SecureWebSocket typed by a protocol object: `ProtocolSocket<typeof chatProtocol>`. */
export type ProtocolSocket<P extends ProtocolDef> = SecureWebSocket<
  OutgoingOf<P>,
  IncomingOf<P>,
  ChannelsOf<P>
>;

/**
 * A SecureWebSocket typed by the server's protocol object. Only the type is needed, so the
 * client bundle need not contain the schemas: `import type { chatProtocol } from '…'` and
 * `createProtocolSocket<typeof chatProtocol>({ url, getToken })`.
 */
export function createProtocolSocket<P extends ProtocolDef>(
  options: SecureWebSocketOptions<IncomingOf<P>>,
): ProtocolSocket<P> {
  return new SecureWebSocket<OutgoingOf<P>, IncomingOf<P>, ChannelsOf<P>>(options);
}
