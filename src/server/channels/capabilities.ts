import { createBoundedMap } from '../bounded-map.js';
import type { Principal } from '../connection/state.js';
import type { ChannelAction, ChannelAuthorize } from './types.js';

export interface CapabilitiesOptions {
  /** The claim that holds the capability map. @default 'capabilities' */
  claim?: string;
}

const MAX_ENTRIES = 64;
const MAX_PATTERN = 128;
const CAPABILITY_PATTERN = /^[A-Za-z0-9:_.@*-]{1,128}$/;
const ACTIONS: ReadonlySet<string> = new Set(['subscribe', 'publish', '*']);

const compiled = createBoundedMap<RegExp>(1000);

/**
 * `*` alone is every channel; a final `*` is the rest of the name, `:` included (`chat:*` covers
 * `chat:a` and `chat:a:b`); any other `*` is part of one segment (`room:*-ops` never crosses a `:`).
 */
function toRegex(pattern: string): RegExp {
  let re = compiled.get(pattern);
  if (re === undefined) {
    const parts = pattern.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\-]/g, '\\$&'));
    const last = parts.length - 1;
    let source = '';
    parts.forEach((p, i) => {
      source += p;
      if (i < last) source += i === last - 1 && parts[last] === '' ? '.+' : '[^:]+';
    });
    re = new RegExp(`^${source}$`);
    compiled.set(pattern, re, Number.POSITIVE_INFINITY);
  }
  return re;
}

/** The capability map of a claim: an object (or its JSON text) of pattern -> actions. Anything else is none. */
function capabilityMap(claim: unknown): [string, unknown][] | undefined {
  let value = claim;
  if (typeof value === 'string') {
    if (value.length > 8192) return undefined;
    try {
      value = JSON.parse(value);
    } catch {
      return undefined;
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const entries = Object.entries(value);
  return entries.length > MAX_ENTRIES ? undefined : entries;
}

/** True when the capability map grants `action` on `channel`. Malformed entries grant nothing. */
export function capabilityAllows(claim: unknown, channel: string, action: ChannelAction): boolean {
  const entries = capabilityMap(claim);
  if (!entries) return false;
  for (const [pattern, actions] of entries) {
    if (pattern.length > MAX_PATTERN || !CAPABILITY_PATTERN.test(pattern)) continue;
    if (!Array.isArray(actions) || !actions.every((a) => typeof a === 'string' && ACTIONS.has(a))) continue;
    if (!actions.includes(action) && !actions.includes('*')) continue;
    if (toRegex(pattern).test(channel)) return true;
  }
  return false;
}

/**
 * A ready-made channel `authorize` from Ably-style capabilities in a JWT claim:
 * `{"capabilities": {"chat:*": ["subscribe", "publish"], "user:42": ["subscribe"]}}`. The token's
 * issuer decides; the channel must still be declared (no pattern, no channel).
 */
export function capabilities<U extends Principal<object> = Principal>(
  options: CapabilitiesOptions = {},
): ChannelAuthorize<U> {
  const claim = options.claim ?? 'capabilities';
  return (user, _params, ctx) => {
    const claims: object | undefined = user.claims;
    const value = claims === undefined ? undefined : (claims as Record<string, unknown>)[claim];
    return capabilityAllows(value, ctx.channel, ctx.action);
  };
}
