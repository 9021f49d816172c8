import { hostname } from 'node:os';
import { z } from 'zod';
import { resolveAllowedHosts } from '../config.js';
import { createProxyTrust } from '../gate/client-ip.js';
import { createTlsCheck } from '../gate/tls.js';
import { randomId } from '../ids.js';
import type { HandlerContext, WsGuardOptions } from '../options.js';
import { createGuard, type Guard } from '../server.js';
import { memoryStore } from '../stores/memory/index.js';
import { actionSchema, createActions } from './actions.js';
import { type AdminIdentity, createDashboardAuth } from './auth.js';
import { createFeed } from './feed.js';
import { createDashboardHttp, type DashboardHttp } from './http.js';
import type { ResolvedDashboard } from './options.js';

export type { DashboardOptions } from './options.js';

export interface Dashboard {
  /** The dashboard's own endpoint (`<path>/ws`): a wsguard guard with the admin as its only user. */
  readonly guard: Guard;
  /** Answers the page, its assets, login and logout; true when it answered. */
  readonly http: DashboardHttp;
  close(): Promise<void>;
}

const messages = { hello: z.object({}).strict(), action: actionSchema };

/**
 * The live security dashboard of `guard`. Its socket is a second guard with its own memory
 * store (its limits and sessions are its own; the page's pushes stay on this node), while the
 * figures and actions travel over the endpoint's store so every node shows and acts everywhere.
 */
export function createDashboard(
  guard: Guard,
  options: Pick<
    WsGuardOptions,
    'now' | 'requireTls' | 'trustProxy' | 'logger' | 'allowedHosts' | 'allowedOrigins'
  >,
  resolved: ResolvedDashboard,
): Dashboard {
  const now = options.now ?? Date.now;
  const hosts =
    options.allowedHosts ??
    options.allowedOrigins?.map((o) => URL.parse(o)?.host).filter((h) => h !== undefined);
  const production = process.env.NODE_ENV === 'production';
  const requireTls = options.requireTls ?? production;
  const proxies = createProxyTrust(options.trustProxy ?? []);
  const auth = createDashboardAuth(resolved, now);
  const node = `${hostname()}:${process.pid}:${randomId(3)}`;

  let dashGuard: Guard | undefined;
  const feed = createFeed({
    node,
    stats: () => guard.stats(),
    events: guard.events,
    store: guard.store,
    channels: () => guard.channels(),
    intervalMs: resolved.intervalMs,
    now,
    push: (snapshot) => dashGuard?.broadcast('snapshot', snapshot),
  });
  const actions = createActions({ guard, node, now, cleared: feed.cleared });
  const identity = (ctx: HandlerContext): AdminIdentity => ({
    admin: ctx.user.id,
    via: String(ctx.user.claims?.via ?? 'unknown'),
    ip: ctx.ip,
  });

  dashGuard = createGuard({
    path: resolved.socketPath,
    auth: {
      // A one-time ticket from the page, or the admin token itself (scripts, tests).
      verify: async (token, req) => {
        const who =
          auth.redeem(token) ??
          (auth.tokenOk(token) ? auth.identity('bearer', proxies.clientIp(req)) : undefined);
        if (!who) {
          auth.failed(proxies.clientIp(req));
          return null;
        }
        return { id: who.admin, claims: { via: who.via } };
      },
    },
    messages,
    handlers: {
      hello: () => feed.initial(),
      action: (ctx, a) => actions.run(identity(ctx), a),
    },
    store: memoryStore(),
    maxPayload: 4096,
    requireTls,
    trustProxy: options.trustProxy ?? [],
    // The page is served by the same hosts as the endpoint, so its socket takes the same Host
    // rule; its Origin stays same-origin (the page's own), whatever origins the app allows.
    ...(hosts === undefined ? {} : { allowedHosts: hosts }),
    http: { healthPath: false, metricsPath: false, mount: false },
    ...(options.logger === undefined ? {} : { logger: options.logger }),
    ...(options.now === undefined ? {} : { now: options.now }),
  });

  const sweep = setInterval(() => auth.sweep(), 60_000);
  sweep.unref();

  return {
    guard: dashGuard,
    http: createDashboardHttp({
      options: resolved,
      auth,
      proxies,
      tlsOk: createTlsCheck(requireTls, proxies),
      secureCookie: production,
    }),
    async close() {
      clearInterval(sweep);
      feed.close();
      actions.close();
      await dashGuard.close({ timeoutMs: 1000 });
    },
  };
}
