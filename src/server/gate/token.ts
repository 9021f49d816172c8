import { BEARER_SUBPROTOCOL_PREFIX } from '../../protocol/index.js';
import type { UpgradeRequest } from '../socket.js';
import { offeredProtocols } from './headers.js';

export type TokenSource = 'header' | 'protocol' | 'query';

/**
 * Finds a token sent with the upgrade: `Authorization: Bearer`, a `wsguard.bearer.<token>`
 * subprotocol, or (only when allowed) `?token=`.
 */
export function extractUpgradeToken(
  req: UpgradeRequest,
  allowQueryToken: boolean,
): { token: string; source: TokenSource } | undefined {
  const authz = req.headers.authorization;
  if (typeof authz === 'string') {
    const m = /^Bearer +(\S{1,8192})$/i.exec(authz);
    if (m?.[1]) return { token: m[1], source: 'header' };
  }
  for (const p of offeredProtocols(req)) {
    if (p.startsWith(BEARER_SUBPROTOCOL_PREFIX) && p.length > BEARER_SUBPROTOCOL_PREFIX.length) {
      return { token: p.slice(BEARER_SUBPROTOCOL_PREFIX.length), source: 'protocol' };
    }
  }
  if (allowQueryToken) {
    const q = req.url.indexOf('?');
    if (q !== -1) {
      const token = new URLSearchParams(req.url.slice(q + 1)).get('token');
      if (token) return { token, source: 'query' };
    }
  }
  return undefined;
}
