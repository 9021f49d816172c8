import type { Protocol } from './types.js';
import { jsonFraming } from './wsguard.js';

/** Any other WebSocket server: JSON messages of --type, no opening, no assumptions. */
export const rawProtocol: Protocol = {
  name: 'raw',
  wsguard: false,
  openingTimeoutCode: undefined,
  ...jsonFraming,
};
