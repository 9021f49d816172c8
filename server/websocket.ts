import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
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
export function setupWebSockets(server: Server): WsGuardServer {
  const jwt = createJwtVerifier({ secret: jwtSecret });
  return secure(server, {
    path: '/ws',
    auth: {
      verify: (token) => (!production && token === DEV_TOKEN ? { id: 'dev-user' } : jwt(token)),
    },
    messages,
    // More than one process (cluster, several machines): share limits, sessions, revocations and
    // broadcasts through Redis. Without REDIS_URL everything stays in this process.
    ...(process.env.REDIS_URL ? { store: redisStore({ url: process.env.REDIS_URL }) } : {}),
    // Behind nginx or a load balancer: its addresses (comma-separated IPs or CIDRs), whose
    // X-Forwarded-For and X-Forwarded-Proto are believed. Nobody else's are.
    ...(process.env.TRUST_PROXY ? { trustProxy: process.env.TRUST_PROXY.split(',') } : {}),
    // Readable logs on a terminal, JSON lines everywhere else (pino-pretty is a dev dependency).
    ...(process.stdout.isTTY && !production ? { logger: { transport: { target: 'pino-pretty' } } } : {}),
    // Library defaults, plus a per-type limit a human typing never meets: 5 chat lines a second.
    limits: { types: { chat: { rate: 5, burst: 10 } } },
    // Options you are likely to need next (all of them, with defaults: the TSDoc of WsGuardOptions):
    // allowedOrigins: ['https://app.example.com'], // browsers from other sites; default: same host only
    // requireTls: true,                           // default: on when NODE_ENV=production (426 for plain ws://)
    // session: { maxAgeMs: 8 * 3600_000, idleTimeoutMs: 30 * 60_000 },
    // http: { metricsToken: process.env.METRICS_TOKEN }, // protect /metrics in production
    // onAnomaly: (event) => alerting.notify(event),
    handlers: {
      echo: (_ctx, payload) => payload,
      chat: (ctx, { text }) => {
        ctx.broadcast('chat', { from: ctx.user.id, text, at: Date.now() });
      },
    },
  });
}
