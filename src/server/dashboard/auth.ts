import { createHash } from 'node:crypto';
import { createBoundedMap } from '../bounded-map.js';
import { randomId, safeEqual } from '../ids.js';
import type { ResolvedDashboard } from './options.js';

/** Who is acting: written into the security log with every action. */
export interface AdminIdentity {
  admin: string;
  /** How the admin got in: 'bearer' or a short hash of the login cookie. */
  via: string;
  ip: string;
}

export const COOKIE = 'wsg_admin';
const TICKET_TTL_MS = 30_000;

/**
 * The dashboard's credentials: the admin token (compared in constant time), login cookies
 * (random ids kept server-side, so logging out or a restart ends them), one-time tickets that
 * let the page open its socket, and per-IP counters for its own rate limit.
 */
export function createDashboardAuth(o: ResolvedDashboard, now: () => number = Date.now) {
  const sessions = createBoundedMap<{ until: number }>(1000, now);
  const tickets = createBoundedMap<AdminIdentity>(1000, now);
  const requests = createBoundedMap<{ n: number; until: number }>(10_000, now);
  const failures = createBoundedMap<{ n: number; until: number }>(10_000, now);

  const count = (map: typeof requests, ip: string, windowMs: number) => {
    const t = now();
    const e = map.get(ip);
    if (!e) {
      map.set(ip, { n: 1, until: t + windowMs }, t + windowMs);
      return 1;
    }
    e.n++;
    return e.n;
  };

  const fingerprint = (id: string) => createHash('sha256').update(id).digest('base64url').slice(0, 8);

  return {
    tokenOk: (given: string | undefined) => given !== undefined && safeEqual(given, o.token),
    /** True when this request is over the IP's request budget (each call counts one). */
    overRequests: (ip: string) => count(requests, ip, 60_000) > o.requestsPerMinute,
    /** True while the IP has used up its failed attempts. */
    lockedOut: (ip: string) => (failures.get(ip)?.n ?? 0) >= o.failuresPer15Min,
    failed: (ip: string) => void count(failures, ip, 15 * 60_000),
    /** A new login session; returns the cookie value. */
    login(): string {
      const id = randomId(32);
      const until = now() + o.sessionTtlMs;
      sessions.set(id, { until }, until);
      return id;
    },
    logout: (id: string) => sessions.delete(id),
    session: (id: string | undefined) => (id !== undefined && sessions.get(id) ? id : undefined),
    identity: (credential: { cookie: string } | 'bearer', ip: string): AdminIdentity => ({
      admin: o.admin,
      via: credential === 'bearer' ? 'bearer' : `cookie:${fingerprint(credential.cookie)}`,
      ip,
    }),
    /** A one-time ticket the page sends as its socket's token. */
    ticket(who: AdminIdentity): string {
      const t = randomId(24);
      tickets.set(t, who, now() + TICKET_TTL_MS);
      return t;
    },
    redeem(ticket: string): AdminIdentity | undefined {
      const who = tickets.get(ticket);
      if (who) tickets.delete(ticket);
      return who;
    },
    sweep() {
      sessions.sweep();
      tickets.sweep();
      requests.sweep();
      failures.sweep();
    },
  };
}

export type DashboardAuth = ReturnType<typeof createDashboardAuth>;

/** Reads one cookie from a Cookie header. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header || header.length > 8192) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq !== -1 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}
