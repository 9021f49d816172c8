import { describe, expect, it } from 'vitest';
import { createDashboardAuth, readCookie } from '../../../src/server/dashboard/auth.js';
import { resolveDashboard } from '../../../src/server/dashboard/options.js';

const token = 'admin-token-admin-token-admin-token-0123';

function setup(overrides = {}) {
  let t = 1_000_000;
  const auth = createDashboardAuth(resolveDashboard({ token, ...overrides }, '/ws'), () => t);
  return { auth, advance: (ms: number) => (t += ms) };
}

describe('dashboard auth', () => {
  it('accepts only the exact token', () => {
    const { auth } = setup();
    expect(auth.tokenOk(token)).toBe(true);
    for (const bad of [undefined, '', `${token} `, token.slice(0, -1), token.toUpperCase()])
      expect(auth.tokenOk(bad)).toBe(false);
  });

  it('login sessions are random, expire after sessionTtlMs and end at logout', () => {
    const { auth, advance } = setup({ sessionTtlMs: 60_000 });
    const a = auth.login();
    const b = auth.login();
    expect(a).not.toBe(b);
    expect(a).not.toContain(token);
    expect(auth.session(a)).toBe(a);
    auth.logout(b);
    expect(auth.session(b)).toBeUndefined();
    expect(auth.session('forged')).toBeUndefined();
    advance(60_001);
    expect(auth.session(a)).toBeUndefined();
  });

  it('a ticket opens one socket, once, within 30 s', () => {
    const { auth, advance } = setup();
    const who = auth.identity({ cookie: auth.login() }, '10.0.0.1');
    expect(who.via).toMatch(/^cookie:[\w-]{8}$/);
    const t1 = auth.ticket(who);
    expect(auth.redeem(t1)).toEqual(who);
    expect(auth.redeem(t1)).toBeUndefined();
    const t2 = auth.ticket(who);
    advance(30_001);
    expect(auth.redeem(t2)).toBeUndefined();
  });

  it('locks an IP out after failuresPer15Min, for 15 minutes, without touching other IPs', () => {
    const { auth, advance } = setup({ failuresPer15Min: 2 });
    auth.failed('10.0.0.1');
    expect(auth.lockedOut('10.0.0.1')).toBe(false);
    auth.failed('10.0.0.1');
    expect(auth.lockedOut('10.0.0.1')).toBe(true);
    expect(auth.lockedOut('10.0.0.2')).toBe(false);
    advance(15 * 60_000 + 1);
    expect(auth.lockedOut('10.0.0.1')).toBe(false);
  });

  it('counts requests per IP per minute', () => {
    const { auth, advance } = setup({ requestsPerMinute: 2 });
    expect([auth.overRequests('a'), auth.overRequests('a'), auth.overRequests('a')]).toEqual([
      false,
      false,
      true,
    ]);
    advance(60_001);
    expect(auth.overRequests('a')).toBe(false);
  });

  it('reads one cookie from a header, and nothing from an oversized one', () => {
    expect(readCookie('a=1; wsg_admin=xyz; b=2', 'wsg_admin')).toBe('xyz');
    expect(readCookie('wsg_admin_x=1', 'wsg_admin')).toBeUndefined();
    expect(readCookie(undefined, 'wsg_admin')).toBeUndefined();
    expect(readCookie(`wsg_admin=1; ${'x'.repeat(9000)}`, 'wsg_admin')).toBeUndefined();
  });
});
