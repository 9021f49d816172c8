import type { UpgradeRequest } from '../socket.js';

export interface OriginOptions {
  allowedOrigins: readonly string[] | undefined;
  requireOrigin: boolean;
}

/**
 * Origin check against cross-site WebSocket hijacking. Exact match only: no substrings,
 * no suffixes, no case folding of what the browser sent beyond the scheme and host rules.
 * Returns true when the request may proceed.
 */
export function createOriginCheck(options: OriginOptions): (req: UpgradeRequest) => boolean {
  const allowed = options.allowedOrigins ? new Set(options.allowedOrigins.map(canonical)) : undefined;
  const { requireOrigin } = options;
  return (req) => {
    const origin = req.headers.origin;
    if (origin === undefined) return !requireOrigin;
    if (typeof origin !== 'string' || origin === 'null' || origin.length > 2048) return false;
    const c = canonical(origin);
    if (c === undefined) return false;
    if (allowed) return allowed.has(c);
    // Same-origin default: the Origin's host must be the Host the client asked for.
    const host = req.headers.host;
    return typeof host === 'string' && new URL(c).host === host.toLowerCase();
  };
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
