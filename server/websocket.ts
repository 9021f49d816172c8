import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import { isIP } from 'node:net';
import {
  type ChannelOptions,
  createJwtVerifier,
  type Principal,
  redisStore,
  requireClaim,
  safeText,
  setupWebSockets as secure,
  type UpgradeRequest,
  type WsGuardServer,
} from 'wsguard/server';
import { z } from 'zod';
import { type ChatLine, chatLine } from './events.js';

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

/** The claims this app reads from its JWTs; a token whose claims do not fit is refused. */
export const claims = z.object({ role: z.string().max(64).optional() });
export type DemoUser = Principal<z.output<typeof claims>>;

const DEV_USER: DemoUser = { id: 'dev-user', claims: {} };
const ROOM_NAME = /[a-z0-9-]{1,32}/;

/** The message types this app accepts, each with its Zod schema. */
export const messages = {
  /** Any JSON payload; the ack's result is the payload. */
  echo: z.unknown(),
  /** A chat line: broadcast to every connected user, or published on `room:<room>` with a room. */
  chat: z.object({
    room: z
      .string()
      .regex(new RegExp(`^${ROOM_NAME.source}$`))
      .optional(),
    text: safeText({ min: 1, max: 2000 }),
  }),
  /** A direct message, published on the target's private channel `user:<to>`. */
  dm: z.object({ to: z.string().regex(/^[A-Za-z0-9_.@-]{1,64}$/), text: safeText({ min: 1, max: 2000 }) }),
};

/** A room: subscribers see `chat` lines and each other's `typing` (which carries who types). */
const room = (authorize: ChannelOptions<DemoUser>['authorize']): ChannelOptions<DemoUser> => ({
  authorize,
  publish: { typing: z.object({}) },
  transformPublish: (user, _event, payload) => ({ ...(payload as object), from: user.id }),
  // A client back within 2 minutes gets the lines it missed (the last 100); the ack lists who is here.
  history: { size: 100, ttlMs: 120_000 },
  presence: true,
});

/** Channels: rooms anyone signed in may join, a staff room, and each user's private channel. */
export const channels = {
  'room:{name}': { ...room(() => true), params: { name: ROOM_NAME } },
  // The exact name wins over `room:{name}`: only tokens with "role": "staff".
  'room:staff': room(requireClaim('role', 'staff')),
  'user:{id}': { authorize: (user: DemoUser, { id }: Readonly<Record<string, string>>) => user.id === id },
} satisfies Record<string, ChannelOptions<DemoUser>>;

/** The app's WebSocket endpoint on `/ws` (seed usage: `setupWebSockets(server)`). */
export function setupWebSockets(server: Server | HttpsServer): WsGuardServer {
  const jwt = createJwtVerifier({ secret: jwtSecret, claims });
  const trustProxy = listFromEnv('TRUST_PROXY');
  const allowedHosts = listFromEnv('ALLOWED_HOSTS');
  const allowedOrigins = listFromEnv('ALLOWED_ORIGINS');
  return secure(server, {
    path: '/ws',
    auth: {
      verify: (token, req): DemoUser | Promise<DemoUser | null> =>
        token === DEV_TOKEN && devAccess(req.remoteAddress) ? DEV_USER : jwt(token),
    },
    // Behind nginx or a load balancer: its addresses or CIDRs (TRUST_PROXY=10.0.0.0/8,::1), so
    // limits see the client's IP and its X-Forwarded-Proto: https counts as TLS.
    ...(trustProxy ? { trustProxy } : {}),
    // Host names clients connect to (ALLOWED_HOSTS=chat.example.com); required in production
    // unless ALLOWED_ORIGINS names the pages' origins on the same hosts.
    ...(allowedHosts ? { allowedHosts } : {}),
    ...(allowedOrigins ? { allowedOrigins } : {}),
    messages,
    channels,
    // A chat line for a room goes only where its sender may read.
    authorize: {
      chat: (_user, { room }, ctx) => room === undefined || ctx.canSubscribe(`room:${room}`),
    },
    // More than one process (cluster, several machines): share limits, sessions, revocations and
    // broadcasts through Redis. Without REDIS_URL everything stays in this process.
    ...(process.env.REDIS_URL ? { store: redisStore({ url: process.env.REDIS_URL }) } : {}),
    // The live security dashboard at /admin, only when an admin token (>= 32 bytes) is given.
    ...(process.env.WSGUARD_ADMIN_TOKEN
      ? { dashboard: { path: '/admin', token: process.env.WSGUARD_ADMIN_TOKEN } }
      : {}),
    // Readable logs on a terminal, JSON lines everywhere else (pino-pretty is a dev dependency).
    ...(process.stdout.isTTY && !production ? { logger: { transport: { target: 'pino-pretty' } } } : {}),
    // Library defaults, plus a per-type limit a human typing never meets: 5 chat lines a second.
    limits: { types: { chat: { rate: 5, burst: 10 }, dm: { rate: 5, burst: 10 } } },
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
      chat: async (ctx, { room, text }) => {
        // The shape the page validates (server/events.ts): a line that does not fit is a bug here.
        const line: ChatLine = chatLine.parse({ from: ctx.user.id, text, at: Date.now() });
        if (room === undefined) ctx.broadcast('chat', line);
        else await ctx.publish(`room:${room}`, 'chat', line);
      },
      dm: async (ctx, { to, text }) => {
        await ctx.publish(`user:${to}`, 'dm', chatLine.parse({ from: ctx.user.id, text, at: Date.now() }));
      },
    },
  });
}
