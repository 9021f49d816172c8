import { type ErrorCode, ErrorCodes } from '../../protocol/index.js';

// Server frames are built by string concatenation from pre-encoded parts: they are sent on
// every message, and JSON.stringify of a fresh object per reply costs more.

const errorTail = new Map<ErrorCode, string>();
for (const code of Object.keys(ErrorCodes) as ErrorCode[]) {
  errorTail.set(code, `"code":"${code}","message":${JSON.stringify(ErrorCodes[code].message)}`);
}

export function errorFrame(code: ErrorCode, id: string | undefined, retryAfterMs?: number): string {
  const idPart = id === undefined ? '' : `"id":${JSON.stringify(id)},`;
  const retry = retryAfterMs === undefined ? '' : `,"retryAfterMs":${Math.ceil(retryAfterMs)}`;
  return `{"type":"error",${idPart}${errorTail.get(code)}${retry}}`;
}

export function ackFrame(id: string, result: unknown): string {
  const encoded = result === undefined ? undefined : JSON.stringify(result);
  return encoded === undefined
    ? `{"type":"ack","id":${JSON.stringify(id)}}`
    : `{"type":"ack","id":${JSON.stringify(id)},"result":${encoded}}`;
}

export function eventFrame(type: string, payload: unknown): string {
  return `{"type":${JSON.stringify(type)},"payload":${JSON.stringify(payload ?? null)}}`;
}
