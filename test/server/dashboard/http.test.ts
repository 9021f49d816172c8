import { afterEach, describe, expect, it } from 'vitest';
import { WsgConfigError } from '../../../src/server/index.js';
import { upgradeStatus } from '../../helpers/peer.js';
import { signToken, startServer, type TestServer } from '../../helpers/server.js';

const TOKEN = 'admin-token-admin-token-admin-token-0123456789';
const servers: TestServer[] = [];
const start = async (options: Parameters<typeof startServer>[0] = {}) => {
  const s = await startServer({ dashboard: { token: TOKEN }, ...options });
  servers.push(s);
  return { ...s, base: `http://127.0.0.1:${s.port}` };
};
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

const get = (url: string, headers: Record<string, string> = {}) =>
  fetch(url, { headers, redirect: 'manual' });
const login = (base: string, token: string, headers: Record<string, string> = {}) =>
  fetch(`${base}/admin/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams({ token }).toString(),
  });

function expectSecurityHeaders(res: Response) {
  const csp = res.headers.get('content-security-policy') ?? '';
  expect(csp).toContain("script-src 'self'");
  expect(csp).not.toContain('unsafe-inline');
  expect(csp).toContain("frame-ancestors 'none'");
  expect(res.headers.get('x-frame-options')).toBe('DENY');
  expect(res.headers.get('cache-control')).toBe('no-store');
  expect(res.headers.get('x-content-type-options')).toBe('nosniff');
}

/** Nothing of the page or its data: no script, no asset URL, no figures. */
function expectNothingOfThePage(body: string) {
  expect(body).not.toContain('<script');
  expect(body).not.toContain('/assets/');
  expect(body).not.toContain('sockets-open');
  expect(body).not.toContain('ticket');
}

describe('dashboard option at setup', () => {
  it.each([
    ['no token', {}],
    ['a short token', { token: 'x'.repeat(31) }],
    ['a non-string token', { token: 1e40 }],
  ])('refuses %s with a WsgConfigError', async (_name, dashboard) => {
    await expect(startServer({ dashboard: dashboard as never })).rejects.toThrow(WsgConfigError);
    await expect(startServer({ dashboard: dashboard as never })).rejects.toThrow(/at least 32 bytes/);
    await expect(startServer({ dashboard: dashboard as never })).rejects.toMatchObject({
      code: 'WSG_CONFIG_INVALID_DASHBOARD',
    });
  });

  it('refuses a path that overlaps the endpoint', async () => {
    await expect(startServer({ path: '/admin/ws', dashboard: { token: TOKEN } })).rejects.toThrow(
      /overlaps the endpoint/,
    );
  });

  it('is off by default: /admin falls through to the app (404)', async () => {
    const s = await startServer();
    servers.push(s);
    const res = await get(`http://127.0.0.1:${s.port}/admin`, { authorization: `Bearer ${TOKEN}` });
    expect(res.status).toBe(404);
    expect(await res.text()).toBe('');
  });
});

describe('dashboard HTTP', () => {
  it('answers 401 without a token, with a wrong one, and for every sub-path, showing nothing of the page', async () => {
    const { base } = await start();
    for (const [path, headers] of [
      ['/admin', {}],
      ['/admin/', {}],
      ['/admin', { authorization: `Bearer ${TOKEN.slice(0, -1)}x` }],
      ['/admin', { authorization: 'Basic YWRtaW46YWRtaW4=' }],
      ['/admin', { cookie: 'wsg_admin=forged-session-id' }],
      ['/admin/api/ticket', {}],
      ['/admin/assets/index.js', {}],
      ['/admin/index.html', { authorization: `Bearer ${TOKEN}${TOKEN}` }],
    ] as const) {
      const res = await get(base + path, headers);
      expect(res.status, path).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Bearer');
      expectSecurityHeaders(res);
      const body = await res.text();
      expectNothingOfThePage(body);
      expect(body).toContain('<form method="post" action="/admin/login">');
    }
  });

  it('serves the built page and its assets with the bearer token, with the security headers', async () => {
    const { base } = await start();
    const res = await get(`${base}/admin`, { authorization: `Bearer ${TOKEN}` });
    expect(res.status).toBe(200);
    expectSecurityHeaders(res);
    const html = await res.text();
    expect(html).toContain('id="sockets-open"');
    // No inline script: every script is a file from /admin/assets.
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    const script = /src="(\/admin\/assets\/[\w.-]+\.js)"/.exec(html)?.[1] as string;
    expect(script).toBeDefined();
    const asset = await get(base + script, { authorization: `Bearer ${TOKEN}` });
    expect(asset.status).toBe(200);
    expect(asset.headers.get('content-type')).toContain('text/javascript');
    expectSecurityHeaders(asset);
    expect((await get(base + script)).status).toBe(401);
    const missing = await get(`${base}/admin/assets/..%2F..%2Fpackage.json`, {
      authorization: `Bearer ${TOKEN}`,
    });
    expect(missing.status).toBe(404);
  });

  it('logs in with the form: HttpOnly, SameSite=Strict cookie scoped to the path; logout ends it', async () => {
    const { base } = await start();
    const wrong = await login(base, 'not-the-token');
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('set-cookie')).toBeNull();
    expectNothingOfThePage(await wrong.text());

    const ok = await login(base, TOKEN);
    expect(ok.status).toBe(303);
    expect(ok.headers.get('location')).toBe('/admin/');
    const setCookie = ok.headers.get('set-cookie') as string;
    expect(setCookie).toMatch(/^wsg_admin=[\w-]{40,}; /);
    expect(setCookie).toContain('HttpOnly');
    expect(setCookie).toContain('SameSite=Strict');
    expect(setCookie).toContain('Path=/admin');
    // Not in production: plain http on localhost must still be able to log in.
    expect(setCookie).not.toContain('Secure');
    const cookie = setCookie.split(';')[0] as string;
    expect(setCookie).not.toContain(TOKEN);

    const page = await get(`${base}/admin/`, { cookie });
    expect(page.status).toBe(200);
    const ticket = await get(`${base}/admin/api/ticket`, { cookie });
    expect(ticket.status).toBe(200);
    expect(((await ticket.json()) as { ticket: string }).ticket).toMatch(/^[\w-]{32}$/);

    const out = await fetch(`${base}/admin/logout`, {
      method: 'POST',
      redirect: 'manual',
      headers: { cookie },
    });
    expect(out.status).toBe(303);
    expect(out.headers.get('set-cookie')).toContain('Max-Age=0');
    expect((await get(`${base}/admin/`, { cookie })).status).toBe(401);
  });

  it('refuses a cross-site login or logout (CSRF) with 403', async () => {
    const { base } = await start();
    const res = await login(base, TOKEN, { origin: 'https://evil.example' });
    expect(res.status).toBe(403);
    expect(res.headers.get('set-cookie')).toBeNull();
    expect(await res.json()).toEqual({ error: 'WSG_ORIGIN_FORBIDDEN' });
    const same = await login(base, TOKEN, { origin: base });
    expect(same.status).toBe(303);
    const cookie = (same.headers.get('set-cookie') as string).split(';')[0] as string;
    const out = await fetch(`${base}/admin/logout`, {
      method: 'POST',
      redirect: 'manual',
      headers: { cookie, origin: 'https://evil.example' },
    });
    expect(out.status).toBe(403);
    expect((await get(`${base}/admin/`, { cookie })).status).toBe(200);
  });

  it('rate-limits wrong tokens per IP: 429 even for the right token, other IPs and the endpoint unaffected', async () => {
    const s = await start({ dashboard: { token: TOKEN, failuresPer15Min: 3 }, trustProxy: ['127.0.0.1'] });
    const from = (ip: string) => ({ 'x-forwarded-for': ip });
    for (let i = 0; i < 3; i++) {
      const res = await get(`${s.base}/admin`, { authorization: 'Bearer wrong', ...from('10.1.1.1') });
      expect(res.status).toBe(401);
    }
    const locked = await get(`${s.base}/admin`, { authorization: `Bearer ${TOKEN}`, ...from('10.1.1.1') });
    expect(locked.status).toBe(429);
    expect(locked.headers.get('retry-after')).toBe('60');
    expectSecurityHeaders(locked);
    expectNothingOfThePage(await locked.text());
    const lockedLogin = await login(s.base, TOKEN, from('10.1.1.1'));
    expect(lockedLogin.status).toBe(429);
    expect(
      (await get(`${s.base}/admin`, { authorization: `Bearer ${TOKEN}`, ...from('10.1.1.2') })).status,
    ).toBe(200);
    const up = await upgradeStatus(s.url, { authorization: `Bearer ${await signToken()}` });
    expect(up.status).toBe(101);
  });

  it('rate-limits requests per IP per minute', async () => {
    const s = await start({ dashboard: { token: TOKEN, requestsPerMinute: 5 } });
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++)
      statuses.push((await get(`${s.base}/admin`, { authorization: `Bearer ${TOKEN}` })).status);
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429, 429]);
  });

  it('requires TLS in production like the endpoint (426), and then sets a Secure cookie', async () => {
    const saved = process.env.NODE_ENV;
    process.env.NODE_ENV = 'production';
    try {
      const s = await start({ trustProxy: ['127.0.0.1'], allowedHosts: ['127.0.0.1'] });
      const plain = await get(`${s.base}/admin`, { authorization: `Bearer ${TOKEN}` });
      expect(plain.status).toBe(426);
      expectNothingOfThePage(await plain.text());
      const viaProxy = await login(s.base, TOKEN, { 'x-forwarded-proto': 'https' });
      expect(viaProxy.status).toBe(303);
      expect(viaProxy.headers.get('set-cookie')).toContain('; Secure');
    } finally {
      process.env.NODE_ENV = saved;
    }
  });
});
