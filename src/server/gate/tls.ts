import type { UpgradeRequest } from '../socket.js';
import type { ProxyTrust } from './client-ip.js';

/**
 * TLS requirement: a direct TLS connection, or a trusted proxy that terminated TLS and
 * says `X-Forwarded-Proto: https`. Returns true when the request may proceed.
 */
export function createTlsCheck(requireTls: boolean, proxies: ProxyTrust): (req: UpgradeRequest) => boolean {
  if (!requireTls) return () => true;
  return (req) => {
    if (req.encrypted) return true;
    if (!proxies.isTrusted(req.remoteAddress)) return false;
    const proto = req.headers['x-forwarded-proto'];
    const first = (Array.isArray(proto) ? proto[0] : proto)?.split(',')[0]?.trim().toLowerCase();
    return first === 'https' || first === 'wss';
  };
}
