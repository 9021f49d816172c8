import type { IncomingMessage } from 'node:http';
import { TLSSocket } from 'node:tls';
import type { UpgradeRequest } from '../socket.js';

/** What the gate's checks read of an HTTP request (URL, method, headers, peer address, TLS). */
export function toRequestView(req: IncomingMessage): UpgradeRequest {
  return {
    url: req.url ?? '/',
    method: req.method ?? 'GET',
    headers: req.headers,
    remoteAddress: req.socket.remoteAddress ?? '',
    encrypted: req.socket instanceof TLSSocket,
  };
}
