import { DEFAULTS } from '../defaults.js';
import { WsgError } from '../errors.js';
import type { Stage } from '../pipeline/types.js';
import type { LimitStore, TakeResult } from '../stores/types.js';
import { keys } from './keys.js';
import type { TypeLimit } from './options.js';
import { rateStateOf } from './socket-rate.js';
import { type BucketRate, toBucketSpec } from './token-bucket.js';

function refuse(r: TakeResult, detail: string): WsgError | undefined {
  return r.allowed ? undefined : new WsgError('WSG_RATE_LIMITED', { retryAfterMs: r.retryAfterMs, detail });
}

/** Messages per user across all their sockets, through the store (shared across processes). */
export function createUserRateStage(store: LimitStore, user: BucketRate | false): Stage | undefined {
  if (!user) return undefined;
  const spec = toBucketSpec(user);
  return (m) => {
    const principal = m.conn.user;
    if (principal === undefined) return undefined;
    // Built once a socket and kept with its limiter state: a key concatenated per message is a
    // new string the store must flatten and hash every time, and a lookup by principal was a
    // cold WeakMap read per message. A socket's user id never changes (a refresh keeps it).
    const state = rateStateOf(m.conn);
    state.userKey ??= keys.userRate(principal.id);
    const r = store.take(state.userKey, spec, 1);
    return r instanceof Promise ? r.then((x) => refuse(x, 'user')) : refuse(r, 'user');
  };
}

/** Per message type, per user: `limits.types.chat = { rate, burst, cost }`. */
export function createTypeRateStage(store: LimitStore, types: Record<string, TypeLimit>): Stage | undefined {
  const specs = new Map(
    Object.entries(types).map(([t, l]) => [
      t,
      { spec: toBucketSpec(l), cost: l.cost ?? DEFAULTS.limits.typeCost },
    ]),
  );
  if (specs.size === 0) return undefined;
  return (m) => {
    const s = specs.get(m.type);
    const id = m.conn.user?.id;
    if (!s || id === undefined) return undefined;
    const r = store.take(keys.typeRate(m.type, id), s.spec, s.cost);
    return r instanceof Promise ? r.then((x) => refuse(x, `type ${m.type}`)) : refuse(r, `type ${m.type}`);
  };
}
