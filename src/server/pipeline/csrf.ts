import { WsgError } from '../errors.js';
import { safeEqual } from '../ids.js';
import type { Stage } from './types.js';

export interface CsrfOptions {
  enabled: boolean;
  /** Application types that need no token. */
  exempt: readonly string[];
}

/**
 * Per-session CSRF token, compared in constant time. Control messages never reach this stage.
 * A binary frame cannot carry a token; the binary type must be exempt to be accepted.
 */
export function createCsrfStage(options: CsrfOptions): Stage | undefined {
  if (!options.enabled) return undefined;
  const exempt = new Set(options.exempt);
  // Most servers exempt nothing: no set lookup (a hash of the type) per message then.
  const anyExempt = exempt.size > 0;
  return (m) => {
    if (anyExempt && exempt.has(m.type)) return undefined;
    const expected = m.conn.csrfToken;
    if (m.csrf === undefined || expected === undefined || !safeEqual(m.csrf, expected)) {
      return new WsgError('WSG_CSRF_INVALID', { detail: m.csrf === undefined ? 'missing' : 'mismatch' });
    }
    return undefined;
  };
}
