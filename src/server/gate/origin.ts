import type { UpgradeRequest } from '../socket.js';
import type { ProxyTrust } from './client-ip.js';

export interface OriginOptions {
  allowedOrigins: readonly string[] | undefined;
  requireOrigin: boolean;
  /** Hosts the `Host` header may name (resolved by config.ts); undefined: any. */
  allowedHosts?: readonly string[] | undefined;
  /** Believed for `X-Forwarded-Proto`, to know the scheme the browser used. */
  proxies?: ProxyTrust;
}

/**
 * Origin and Host checks against cross-site WebSocket hijacking and DNS rebinding. Exact match
 * only: no substrings, no suffixes, no case folding of what the browser sent beyond the scheme
 * and host rules. Returns true when the request may proceed.
 */
export function createOriginCheck(options: OriginOptions): (req: UpgradeRequest) => boolean {
  const allowed = options.allowedOrigins ? new Set(options.allowedOrigins.map(canonical)) : undefined;
  const { requireOrigin } = options;
  const hostOk = createHostCheck(options);
  return (req) => {
    if (!hostOk(req)) return false;
    const origin = req.headers.origin;
    if (origin === undefined) return !requireOrigin;
    if (typeof origin !== 'string' || origin === 'null' || origin.length > 2048) return false;
    const c = canonical(origin);
    if (c === undefined) return false;
    if (allowed) return allowed.has(c);
    // Same-origin default: the Origin's host must be the Host the client asked for, and its
    // scheme the one the connection used when that is known (TLS here, or a trusted proxy's word).
    const host = req.headers.host;
    const u = new URL(c);
    if (typeof host !== 'string' || u.host !== host.toLowerCase()) return false;
    const scheme = knownScheme(req, options.proxies);
    return scheme === undefined || u.protocol === `${scheme}:`;
  };
}

/**
 * The Host check: a DNS-rebinding page has a Host and an Origin both of the attacker's name, which
 * the same-origin rule alone accepts. An entry with a port matches that host:port exactly, one
 * without matches the host on any port.
 */
function createHostCheck(options: OriginOptions): (req: UpgradeRequest) => boolean {
  const hosts = options.allowedHosts;
  if (hosts === undefined) return () => true;
  const exact = new Set(hosts.map((h) => h.toLowerCase()));
  return (req) => {
    const host = req.headers.host;
    if (typeof host !== 'string' || host.length === 0 || host.length > 300) return false;
    const h = host.toLowerCase();
    if (exact.has(h)) return true;
    const colon = h.startsWith('[') ? h.indexOf(']:') + 1 : h.lastIndexOf(':');
    return colon > 0 && /^:\d{1,5}$/.test(h.slice(colon)) && exact.has(h.slice(0, colon));
  };
}

/** 'https' on a TLS socket, a trusted proxy's X-Forwarded-Proto, else unknown. */
function knownScheme(req: UpgradeRequest, proxies: ProxyTrust | undefined): 'http' | 'https' | undefined {
  if (req.encrypted) return 'https';
  if (!proxies?.isTrusted(req.remoteAddress)) return undefined;
  const proto = req.headers['x-forwarded-proto'];
  const first = (Array.isArray(proto) ? proto[0] : proto)?.split(',')[0]?.trim().toLowerCase();
  if (first === 'https' || first === 'wss') return 'https';
  if (first === 'http' || first === 'ws') return 'http';
  return undefined;
}

function canonical(origin: string): string | undefined {
  try {
    const u = new URL(origin);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return undefined;
    if (u.username || u.password || u.pathname !== '/' || u.search || u.hash) return undefined;
    return u.origin;
  } catch {
    return undefined;
  }
}
