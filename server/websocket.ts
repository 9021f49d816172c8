import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import { isIP } from 'node:net';
import {
  createJwtVerifier,
  redisStore,
  safeText,
  setupWebSockets as secure,
  type WsGuardServer,
} from 'wsguard/server';
import { z } from 'zod';

/** Static token accepted outside production, so the seed's scripts work with their defaults. */
export const DEV_TOKEN = 'test_token';

const production = process.env.NODE_ENV === 'production';

/**
 * Outside production, the static token and /dev-token serve peers on this machine only: a
 * forgotten NODE_ENV must not open auth to the network. WSGUARD_DEV_OPEN=1 opts in to serving
 * them to any peer (a phone on the LAN); behind a proxy on this machine every peer looks local,
 * so run such a setup with NODE_ENV=production.
 */
export const devOpenToNetwork = !production && process.env.WSGUARD_DEV_OPEN === '1';

/** 127.0.0.0/8, ::1 and their IPv4-mapped forms. */
export function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  const a = address.startsWith('::ffff:') ? address.slice(7) : address;
  return a === '::1' || (isIP(a) === 4 && a.startsWith('127.'));
}

/** Whether the dev shortcuts (test_token, /dev-token) serve a peer at `address`. */
export function devAccess(address: string | undefined): boolean {
  return !production && (devOpenToNetwork || isLoopback(address));
}

/** A comma-separated environment variable as a list; undefined when unset or empty. */
function listFromEnv(name: string): string[] | undefined {
  const list = (process.env[name] ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  return list.length > 0 ? list : undefined;
}

/** HS256 secret for this app's JWTs: from the environment, or random for this run. */
export const jwtSecret = process.env.WSGUARD_JWT_SECRET || randomBytes(32).toString('base64url');

if (production && !process.env.WSGUARD_JWT_SECRET) {
  throw new Error('WSGUARD_JWT_SECRET must be set in production');
}

/** The message types this app accepts, each with its Zod schema. */
export const messages = {
  /** Any JSON payload; the ack's result is the payload. */
  echo: z.unknown(),
  /** A chat line, broadcast to every connected user. */
  chat: z.object({ text: safeText({ min: 1, max: 2000 }) }),
};

/** The app's WebSocket endpoint on `/ws` (seed usage: `setupWebSockets(server)`). */
export function setupWebSockets(server: Server | HttpsServer): WsGuardServer {
  const jwt = createJwtVerifier({ secret: jwtSecret });
  const trustProxy = listFromEnv('TRUST_PROXY');
  const allowedHosts = listFromEnv('ALLOWED_HOSTS');
  const allowedOrigins = listFromEnv('ALLOWED_ORIGINS');
  return secure(server, {
    path: '/ws',
    auth: {
      verify: (token, req) =>
        token === DEV_TOKEN && devAccess(req.remoteAddress) ? { id: 'dev-user' } : jwt(token),
    },
    // Behind nginx or a load balancer: its addresses or CIDRs (TRUST_PROXY=10.0.0.0/8,::1), so
    // limits see the client's IP and its X-Forwarded-Proto: https counts as TLS.
    ...(trustProxy ? { trustProxy } : {}),
    // Host names clients connect to (ALLOWED_HOSTS=chat.example.com); required in production
    // unless ALLOWED_ORIGINS names the pages' origins on the same hosts.
    ...(allowedHosts ? { allowedHosts } : {}),
    ...(allowedOrigins ? { allowedOrigins } : {}),
    messages,
    // More than one process (cluster, several machines): share limits, sessions, revocations and
    // broadcasts through Redis. Without REDIS_URL everything stays in this process.
    ...(process.env.REDIS_URL ? { store: redisStore({ url: process.env.REDIS_URL }) } : {}),
    // Readable logs on a terminal, JSON lines everywhere else (pino-pretty is a dev dependency).
    ...(process.stdout.isTTY && !production ? { logger: { transport: { target: 'pino-pretty' } } } : {}),
    // Library defaults, plus a per-type limit a human typing never meets: 5 chat lines a second.
    limits: { types: { chat: { rate: 5, burst: 10 } } },
    // In production /metrics is served only behind WSGUARD_METRICS_TOKEN (Bearer), else not at all.
    ...(production
      ? {
          http: process.env.WSGUARD_METRICS_TOKEN
            ? { metricsToken: process.env.WSGUARD_METRICS_TOKEN }
            : { metricsPath: false as const },
        }
      : {}),
    // Options you are likely to need next (all of them, with defaults: the TSDoc of WsGuardOptions):
    // requireTls: true,                           // default: on when NODE_ENV=production (426 for plain ws://)
    // session: { maxAgeMs: 8 * 3600_000, idleTimeoutMs: 30 * 60_000 },
    // onAnomaly: (event) => alerting.notify(event),
    handlers: {
      echo: (_ctx, payload) => payload,
      chat: (ctx, { text }) => {
        ctx.broadcast('chat', { from: ctx.user.id, text, at: Date.now() });
      },
    },
  });
}
