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

/**
 * One `X-Forwarded-For` entry as an address: `1.2.3.4:5678`, `[2001:db8::1]:443`, `[::1]` and
 * quoted forms are what some proxies and load balancers write; anything else is junk ('').
 */
export function parseHop(raw: string): string {
  let h = raw.trim();
  if (h.length > 64) return '';
  if (h.startsWith('"') && h.endsWith('"') && h.length >= 2) h = h.slice(1, -1);
  if (h.startsWith('[')) {
    const end = h.indexOf(']');
    if (end === -1) return '';
    const rest = h.slice(end + 1);
    if (rest !== '' && !/^:\d{1,5}$/.test(rest)) return '';
    h = h.slice(1, end);
  } else if (/^[\d.]+:\d{1,5}$/.test(h)) {
    h = h.slice(0, h.indexOf(':'));
  }
  return isIP(h) === 0 ? '' : normalize(h);
}

/**
 * Trust in `X-Forwarded-*` headers, limited to the proxies in `cidrs`. `onInvalidHop` hears the
 * first junk entry met (once per process: a misconfigured proxy would otherwise log per request).
 */
export function createProxyTrust(cidrs: readonly string[], onInvalidHop?: (hop: string) => void): ProxyTrust {
  let warned = false;
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
      // A junk entry is skipped, not taken as the end of the chain: answering with the peer
      // would put every client behind the proxy on the proxy's own address, one shared limit.
      const hops = raw.split(',');
      let nearest = peer;
      for (let i = hops.length - 1; i >= 0; i--) {
        const hop = parseHop(hops[i] ?? '');
        if (hop === '') {
          if (!warned) {
            warned = true;
            onInvalidHop?.((hops[i] ?? '').trim().slice(0, 64));
          }
          continue;
        }
        if (!isTrusted(hop)) return hop;
        nearest = hop;
      }
      return nearest;
    },
  };
}
