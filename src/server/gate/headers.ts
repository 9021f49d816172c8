import type { UpgradeRequest } from '../socket.js';

const MAX_PROTOCOL_HEADER = 4096;
const MAX_PROTOCOLS = 16;

/**
 * Cheap sanity checks on the upgrade request, before anything parses its headers further:
 * bounded lengths keep hostile headers from costing more than a look.
 */
export function checkHeaders(req: UpgradeRequest): boolean {
  // RFC 6455 4.2.1: a GET over HTTP/1.1 or later asking to upgrade to exactly "websocket".
  // Checked here, not only by ws after the gate, so a malformed handshake costs no token check.
  if (req.method !== 'GET') return false;
  if (req.httpVersion !== undefined && !(Number.parseFloat(req.httpVersion) >= 1.1)) return false;
  const upgrade = req.headers.upgrade;
  if (typeof upgrade !== 'string' || upgrade.toLowerCase() !== 'websocket') return false;
  const proto = req.headers['sec-websocket-protocol'];
  if (proto !== undefined) {
    // Node trims header values, so a header of only spaces arrives empty: no protocol named.
    if (typeof proto !== 'string' || proto.length === 0 || proto.length > MAX_PROTOCOL_HEADER) return false;
    let commas = 0;
    for (let i = 0; i < proto.length; i++) if (proto.charCodeAt(i) === 44) commas++;
    if (commas >= MAX_PROTOCOLS) return false;
  }
  // Only RFC 6455's version 13: ws also speaks hybi version 8, whose browsers send
  // Sec-WebSocket-Origin, not Origin, so the origin check would see none. Other values that
  // ws reads as 8 or 13 ('08', '0x8', '13.0') are refused here too; the rest ws refuses itself.
  const version = req.headers['sec-websocket-version'];
  if (typeof version === 'string' && version !== '13') {
    const n = Number(version);
    if (n === 8 || n === 13) return false;
  }
  const ext = req.headers['sec-websocket-extensions'];
  if (ext !== undefined && (typeof ext !== 'string' || ext.length > MAX_PROTOCOL_HEADER)) return false;
  return req.url.length <= 8192;
}

/** The offered subprotocols, trimmed, in order. */
export function offeredProtocols(req: UpgradeRequest): string[] {
  const proto = req.headers['sec-websocket-protocol'];
  if (typeof proto !== 'string' || proto.length === 0) return [];
  return proto
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p.length > 0);
}
