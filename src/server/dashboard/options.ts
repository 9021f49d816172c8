import { WsgConfigError } from '../errors.js';

/** The live security dashboard, served by wsguard on the same server. Off unless given. */
export interface DashboardOptions {
  /** URL path of the page; its socket is `<path>/ws`. @default '/admin' */
  path?: string;
  /**
   * The admin token (at least 32 bytes): sent as `Authorization: Bearer <token>` or typed into
   * the login form. Required: setup throws a WsgConfigError without one.
   */
  token: string;
  /** Name the security log gives the holder of the token. @default 'admin' */
  admin?: string;
  /** How long a login cookie stays valid. @default 43200000 (12 hours) */
  sessionTtlMs?: number;
  /** Requests (page, assets, login) one IP may make per minute before 429. @default 300 */
  requestsPerMinute?: number;
  /** Failed logins or bad tokens one IP may make per 15 minutes before 429. @default 10 */
  failuresPer15Min?: number;
  /** How often nodes publish their figures and the page is pushed an update. @default 1000 */
  intervalMs?: number;
}

export interface ResolvedDashboard {
  path: string;
  socketPath: string;
  token: string;
  admin: string;
  sessionTtlMs: number;
  requestsPerMinute: number;
  failuresPer15Min: number;
  intervalMs: number;
}

export const MIN_TOKEN_BYTES = 32;

function int(name: string, v: number | undefined, fallback: number, min: number): number {
  const value = v ?? fallback;
  if (!Number.isInteger(value) || value < min)
    throw new WsgConfigError(
      'WSG_CONFIG_INVALID_DASHBOARD',
      `dashboard.${name} must be an integer >= ${min}, got ${value}`,
    );
  return value;
}

/** Checks the options now, so a weak or missing token fails at setup, not at the first request. */
export function resolveDashboard(o: DashboardOptions, endpointPath: string): ResolvedDashboard {
  if (typeof o !== 'object' || o === null)
    throw new WsgConfigError('WSG_CONFIG_INVALID_DASHBOARD', 'dashboard must be an object');
  if (typeof o.token !== 'string' || Buffer.byteLength(o.token) < MIN_TOKEN_BYTES)
    throw new WsgConfigError(
      'WSG_CONFIG_INVALID_DASHBOARD',
      `dashboard.token must be a string of at least ${MIN_TOKEN_BYTES} bytes`,
    );
  const path = (o.path ?? '/admin').replace(/\/+$/, '');
  if (!/^\/[A-Za-z0-9._~\-/]+$/.test(path))
    throw new WsgConfigError(
      'WSG_CONFIG_INVALID_DASHBOARD',
      `dashboard.path must be an absolute URL path, got ${o.path}`,
    );
  if (endpointPath === path || endpointPath.startsWith(`${path}/`))
    throw new WsgConfigError(
      'WSG_CONFIG_INVALID_DASHBOARD',
      `dashboard.path ${path} overlaps the endpoint path ${endpointPath}`,
    );
  const admin = o.admin ?? 'admin';
  if (!/^[\w.@-]{1,64}$/.test(admin))
    throw new WsgConfigError('WSG_CONFIG_INVALID_DASHBOARD', 'dashboard.admin must be 1-64 word characters');
  return {
    path,
    socketPath: `${path}/ws`,
    token: o.token,
    admin,
    sessionTtlMs: int('sessionTtlMs', o.sessionTtlMs, 12 * 3600_000, 60_000),
    requestsPerMinute: int('requestsPerMinute', o.requestsPerMinute, 300, 1),
    failuresPer15Min: int('failuresPer15Min', o.failuresPer15Min, 10, 1),
    intervalMs: int('intervalMs', o.intervalMs, 1000, 100),
  };
}
