import type { AppProbe, Frame, Protocol } from './types.js';

let seq = 0;
/** A message id unique within the process (servers may refuse a repeated one). */
export function nextId(): string {
  seq += 1;
  return `audit-${Date.now().toString(36)}-${seq}`;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);

/** `payload` padded with `pad` inside the app's own object payload, so only the size is wrong. */
export const padPayload = (p: unknown, pad: string) => (isObject(p) ? { ...p, wsguardAuditPad: pad } : pad);

/** Pads `build(pad)` until it is `bytes` long. */
export function padTo(bytes: number, build: (pad: string) => string): string {
  return build('x'.repeat(Math.max(0, bytes - build('').length)));
}

/** A wsguard application message: `{id, type, payload, csrf}` (the app's own payload when given). */
export function jsonMessage(app: AppProbe, payload: unknown, extra: Record<string, unknown> = {}) {
  return {
    id: nextId(),
    type: app.type,
    // A real app validates payloads: its own valid one (--payload) gets a probe past validation.
    payload: app.payload === undefined ? payload : app.payload,
    ...(app.csrf ? { csrf: app.csrf } : {}),
    ...extra,
  };
}

/** An error reply: wsguard's `{"type":"error"}`, or any object with an `error` key. */
export function isJsonRefusal(frame: Frame): boolean {
  const j = frame.json;
  return j !== undefined && (j.type === 'error' || 'error' in j);
}

/** wsguard's framing, also what the audit sends to a server speaking no known protocol. */
export const jsonFraming: Omit<Protocol, 'name' | 'wsguard' | 'openingTimeoutCode'> = {
  subprotocols: [],
  endpoint: (url) => new URL(url.href),
  background: () => false,
  isRefusal: isJsonRefusal,
  message: (app, payload) => JSON.stringify(jsonMessage(app, payload)),
  withPayload(app, payloadJson) {
    const msg = JSON.stringify({ ...jsonMessage(app, null), payload: '\u0000payload' });
    return msg.replace('"\\u0000payload"', () => payloadJson);
  },
  sized(app, bytes) {
    const msg = jsonMessage(app, '');
    return padTo(bytes, (pad) => JSON.stringify({ ...msg, payload: padPayload(msg.payload, pad) }));
  },
  unknownType: (app) => JSON.stringify({ ...jsonMessage(app, 1), type: 'auditUnknownType' }),
  truncated: (app) => `{"type":"${app.type}","payload":`,
  provocations: (app) => [
    `{"type":"${app.type}","payload":`,
    '[]',
    '{"type":123}',
    'null',
    `{"type":"${app.type}","id":{"nested":true},"payload":{"toString":"x","valueOf":1}}`,
  ],
};

/** wsguard's own protocol: `auth` / `auth_ok` (done by the socket layer), CSRF tokens, WSG_* codes. */
export const wsguardProtocol: Protocol = {
  name: 'wsguard',
  wsguard: true,
  // WSG_AUTH_TIMEOUT.
  openingTimeoutCode: 4408,
  ...jsonFraming,
};
