import { BlockList, isIP } from 'node:net';
import { WsgConfigError } from '../errors.js';
import type { UpgradeRequest } from '../socket.js';

export interface ProxyTrust {
  /** True when `address` is one of the configured proxies. */
  isTrusted(address: string): boolean;
  /** The client's IP: the socket address, or from X-Forwarded-For behind trusted proxies. */
  clientIp(req: UpgradeRequest): string;
}

function normalize(address: string): string {
  return address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}

/** Trust in `X-Forwarded-*` headers, limited to the proxies in `cidrs`. */
export function createProxyTrust(cidrs: readonly string[]): ProxyTrust {
  const list = new BlockList();
  for (const entry of cidrs) {
    const [addr = '', bits] = entry.split('/');
    const family = isIP(addr);
    if (family === 0)
      throw new WsgConfigError('WSG_CONFIG_INVALID_PROXY', `trustProxy entry is not an IP or CIDR: ${entry}`);
    const type = family === 4 ? 'ipv4' : 'ipv6';
    if (bits === undefined) list.addAddress(addr, type);
    else list.addSubnet(addr, Number(bits), type);
  }
  const isTrusted = (address: string): boolean => {
    if (cidrs.length === 0) return false;
    const a = normalize(address);
    const family = isIP(a);
    return family !== 0 && list.check(a, family === 4 ? 'ipv4' : 'ipv6');
  };
  return {
    isTrusted,
    clientIp(req) {
      const peer = normalize(req.remoteAddress);
      if (!isTrusted(peer)) return peer;
      const header = req.headers['x-forwarded-for'];
      const raw = Array.isArray(header) ? header.join(',') : header;
      if (!raw) return peer;
      // Walk from the nearest hop outwards; the first address our proxies did not add is the client.
      const hops = raw.split(',').map((h) => normalize(h.trim()));
      for (let i = hops.length - 1; i >= 0; i--) {
        const hop = hops[i] ?? '';
        if (isIP(hop) === 0) return peer;
        if (!isTrusted(hop)) return hop;
      }
      return hops[0] ?? peer;
    },
  };
}
