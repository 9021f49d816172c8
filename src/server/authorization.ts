import { WsgConfigError, WsgError } from './errors.js';
import type { Authorize, Handler, HandlerContext, MessageSchemas } from './options.js';

export type { Authorize };

/** Anything with claims: every user type a verifier can return. */
interface WithClaims {
  readonly claims?: unknown;
}

function claimsOf(user: WithClaims): Record<string, unknown> | undefined {
  const c = user.claims;
  return typeof c === 'object' && c !== null ? (c as Record<string, unknown>) : undefined;
}

/**
 * Allows users whose claim `name` equals `value`, or is an array that holds it
 * (`requireClaim('role', 'staff')` passes `{"role":"staff"}` and `{"role":["staff","dev"]}`).
 */
export function requireClaim(name: string, value: string | number | boolean) {
  return (user: WithClaims): boolean => {
    const claim = claimsOf(user)?.[name];
    return Array.isArray(claim) ? claim.includes(value) : claim === value;
  };
}

/**
 * Allows users whose OAuth scopes hold `scope`: the `scope` claim as a space-separated string
 * (RFC 8693), or `scp` / `scopes` as an array of strings.
 */
export function requireScope(scope: string) {
  return (user: WithClaims): boolean => {
    const c = claimsOf(user);
    if (!c) return false;
    if (typeof c.scope === 'string' && c.scope.split(' ').includes(scope)) return true;
    for (const key of ['scp', 'scopes'] as const) {
      const list = c[key];
      if (Array.isArray(list) && list.includes(scope)) return true;
      if (typeof list === 'string' && list.split(' ').includes(scope)) return true;
    }
    return false;
  };
}

/** Thrown (never built per message) when authorize says no; the guard answers it `WSG_FORBIDDEN`. */
export const FORBIDDEN = new WsgError('WSG_FORBIDDEN', { detail: 'authorize returned false' });

type AnyHandler = (ctx: HandlerContext, payload: unknown) => unknown;

/**
 * The handler with its type's `authorize` in front. A refusal is thrown as a WsgError, which the
 * guard answers with its code (counted like any refusal) instead of `WSG_INTERNAL`.
 */
export function withAuthorization(handler: AnyHandler | undefined, rule: Authorize): AnyHandler {
  const run = (ok: unknown, ctx: HandlerContext, payload: unknown) => {
    if (ok !== true) throw FORBIDDEN;
    return handler ? handler(ctx, payload) : undefined;
  };
  return (ctx, payload) => {
    const ok = rule(ctx.user, payload, ctx);
    return ok instanceof Promise ? ok.then((v) => run(v, ctx, payload)) : run(ok, ctx, payload);
  };
}

/** The handlers with each type's `authorize` in front, checked at setup. */
export function applyAuthorize(
  handlers: Readonly<Record<string, Handler | undefined>>,
  messages: MessageSchemas,
  rules: Readonly<Record<string, unknown>> | undefined,
): Record<string, Handler | undefined> {
  const out: Record<string, Handler | undefined> = { ...handlers };
  if (rules === undefined) return out;
  if (typeof rules !== 'object' || rules === null) {
    throw new WsgConfigError('WSG_CONFIG_INVALID_AUTHORIZE', 'authorize must be an object of functions');
  }
  for (const [type, rule] of Object.entries(rules)) {
    if (!Object.hasOwn(messages, type)) {
      throw new WsgConfigError(
        'WSG_CONFIG_INVALID_AUTHORIZE',
        `authorize '${type}' has no schema in options.messages`,
      );
    }
    if (typeof rule !== 'function') {
      throw new WsgConfigError('WSG_CONFIG_INVALID_AUTHORIZE', `authorize.${type} must be a function`);
    }
    out[type] = withAuthorization(out[type], rule as Authorize) as Handler;
  }
  return out;
}
