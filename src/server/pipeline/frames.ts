import { type AnnouncedLimits, ControlType, type ErrorCode, ErrorCodes } from '../../protocol/index.js';

// Every frame the server sends is built here, from the names in src/protocol/. Frames sent on
// every message are concatenated from pre-encoded parts: JSON.stringify of a fresh object per
// reply costs more.

const T_ERROR = `{"type":${JSON.stringify(ControlType.Error)},`;
const T_ACK = `{"type":${JSON.stringify(ControlType.Ack)},"id":`;
const T_PONG = `{"type":${JSON.stringify(ControlType.Pong)},"ts":`;
const T_EXPIRING = `{"type":${JSON.stringify(ControlType.SessionExpiring)},"expiresAt":`;

const errorTail = new Map<ErrorCode, string>();
/** The whole frame of each code without id or retry-after (a flood of bad frames builds none). */
const bareError = new Map<ErrorCode, string>();
for (const code of Object.keys(ErrorCodes) as ErrorCode[]) {
  errorTail.set(code, `"code":"${code}","message":${JSON.stringify(ErrorCodes[code].message)}`);
  bareError.set(code, `${T_ERROR}${errorTail.get(code)}}`);
}

export function errorFrame(code: ErrorCode, id: string | undefined, retryAfterMs?: number): string {
  if (id === undefined && retryAfterMs === undefined) return bareError.get(code) as string;
  const idPart = id === undefined ? '' : `"id":${quoteId(id)},`;
  const retry = retryAfterMs === undefined ? '' : `,"retryAfterMs":${Math.ceil(retryAfterMs)}`;
  return `${T_ERROR}${idPart}${errorTail.get(code)}${retry}}`;
}

/**
 * An id as a JSON string. Ids are printable ASCII (the envelope checks it), so quotes around it
 * are enough unless it holds `"` or `\`; anything else takes JSON.stringify.
 */
function quoteId(id: string): string {
  for (let i = 0; i < id.length; i++) {
    const c = id.charCodeAt(i);
    if (c < 0x21 || c > 0x7e || c === 0x22 || c === 0x5c) return JSON.stringify(id);
  }
  return `"${id}"`;
}

/** Throws if `result` cannot be encoded (BigInt, a cycle): the caller answers WSG_INTERNAL. */
export function ackFrame(id: string, result: unknown): string {
  const encoded = result === undefined ? undefined : JSON.stringify(result);
  return encoded === undefined ? `${T_ACK}${quoteId(id)}}` : `${T_ACK}${quoteId(id)},"result":${encoded}}`;
}

/** An application event: `{type, payload}`, for send() and broadcast(). */
export function eventFrame(type: string, payload: unknown): string {
  return `{"type":${JSON.stringify(type)},"payload":${JSON.stringify(payload ?? null)}}`;
}

/** `ts` is a finite number (the envelope reader checked it). */
export function pongFrame(ts: number): string {
  return `${T_PONG}${ts}}`;
}

export function sessionExpiringFrame(expiresAt: number): string {
  return `${T_EXPIRING}${expiresAt}}`;
}

export function authOkFrame(o: {
  sessionId: string;
  csrfToken: string;
  expiresAt: number;
  heartbeatMs: number;
  limits: AnnouncedLimits;
}): string {
  return JSON.stringify({
    type: ControlType.AuthOk,
    sessionId: o.sessionId,
    csrfToken: o.csrfToken,
    expiresAt: o.expiresAt,
    heartbeatMs: o.heartbeatMs,
    limits: o.limits,
  });
}

export function refreshOkFrame(expiresAt: number, csrfToken: string, limits: AnnouncedLimits): string {
  return JSON.stringify({ type: ControlType.RefreshOk, expiresAt, csrfToken, limits });
}
