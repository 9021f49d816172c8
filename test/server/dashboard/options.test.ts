import { describe, expect, it } from 'vitest';
import { resolveDashboard } from '../../../src/server/dashboard/options.js';
import { WsgConfigError } from '../../../src/server/index.js';

const token = 't'.repeat(32);

describe('resolveDashboard', () => {
  it('fills the defaults', () => {
    expect(resolveDashboard({ token }, '/ws')).toEqual({
      path: '/admin',
      socketPath: '/admin/ws',
      token,
      admin: 'admin',
      sessionTtlMs: 43_200_000,
      requestsPerMinute: 300,
      failuresPer15Min: 10,
      intervalMs: 1000,
    });
  });

  it('counts the token in bytes, not characters', () => {
    expect(() => resolveDashboard({ token: 'é'.repeat(16) }, '/ws')).not.toThrow();
    expect(() => resolveDashboard({ token: 'e'.repeat(31) }, '/ws')).toThrow(/at least 32 bytes/);
  });

  it.each([
    [{ token, path: 'admin' }, /absolute URL path/],
    [{ token, path: '/ad min' }, /absolute URL path/],
    [{ token, path: '/' }, /absolute URL path/],
    [{ token, intervalMs: 10 }, /intervalMs must be an integer >= 100/],
    [{ token, failuresPer15Min: 0 }, /failuresPer15Min/],
    [{ token, admin: 'a b' }, /dashboard.admin/],
  ])('refuses %o', (options, message) => {
    const run = () => resolveDashboard(options, '/ws');
    expect(run).toThrow(WsgConfigError);
    expect(run).toThrow(message);
  });

  it('strips a trailing slash and refuses a path over or under the endpoint', () => {
    expect(resolveDashboard({ token, path: '/ops/' }, '/ws').path).toBe('/ops');
    expect(() => resolveDashboard({ token, path: '/ws' }, '/ws')).toThrow(/overlaps/);
    expect(() => resolveDashboard({ token, path: '/api' }, '/api/ws')).toThrow(/overlaps/);
  });
});
