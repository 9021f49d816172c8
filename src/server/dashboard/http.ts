import { existsSync, readdirSync, readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { packageRoot } from '../../package-root.js';
import { ErrorCodes } from '../../protocol/index.js';
import type { ProxyTrust } from '../gate/client-ip.js';
import { toRequestView } from '../http/request-view.js';
import type { UpgradeRequest } from '../socket.js';
import { type AdminIdentity, COOKIE, type DashboardAuth, readCookie } from './auth.js';
import type { ResolvedDashboard } from './options.js';

/** Every answer of the dashboard carries these: no framing, no caching, no inline script. */
export const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'x-frame-options': 'DENY',
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'same-origin',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.html': 'text/html; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/** The built page (dist/dashboard), read once: it ships in the package and never changes at run time. */
function loadPage(base: string): { index: string; assets: Map<string, Buffer> } | undefined {
  const dir = join(packageRoot(), 'dist', 'dashboard');
  const indexFile = join(dir, 'index.html');
  if (!existsSync(indexFile)) return undefined;
  const assets = new Map<string, Buffer>();
  const assetDir = join(dir, 'assets');
  if (existsSync(assetDir))
    for (const f of readdirSync(assetDir)) assets.set(f, readFileSync(join(assetDir, f)));
  // Built with relative URLs; pinned to the configured path here so /admin and /admin/ both work.
  const index = readFileSync(indexFile, 'utf8').replaceAll('"./assets/', `"${base}/assets/`);
  return { index, assets };
}

const LOGIN_PAGE = (path: string, message: string) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>wsguard admin: sign in</title></head>
<body><main><h1>wsguard admin</h1>${message ? `<p role="alert">${message}</p>` : ''}
<form method="post" action="${path}/login"><label>Admin token <input type="password" name="token" autocomplete="current-password" required></label>
<button type="submit">Sign in</button></form></main></body></html>
`;

const MAX_BODY = 4096;

function readBody(req: IncomingMessage): Promise<string | undefined> {
  return new Promise((resolve) => {
    let size = 0;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        resolve(undefined);
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', () => resolve(undefined));
  });
}

/**
 * Same-origin check for requests that change state: browsers say where a request comes from in
 * Sec-Fetch-Site; without it, a present Origin must name this host (no Origin: not a browser).
 */
export function sameOrigin(req: { headers: IncomingMessage['headers'] }): boolean {
  const site = req.headers['sec-fetch-site'];
  if (site !== undefined) return site === 'same-origin';
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  const host = req.headers.host;
  if (typeof host !== 'string') return false;
  try {
    return new URL(origin).host === host;
  } catch {
    return false;
  }
}

export type DashboardHttp = (req: IncomingMessage, res: ServerResponse) => boolean;

export function createDashboardHttp(o: {
  options: ResolvedDashboard;
  auth: DashboardAuth;
  proxies: ProxyTrust;
  tlsOk: (req: UpgradeRequest) => boolean;
  secureCookie: boolean;
}): DashboardHttp {
  const { path } = o.options;
  let page: ReturnType<typeof loadPage> | null = null;
  const send = (
    res: ServerResponse,
    status: number,
    body: string | Buffer,
    type = 'application/json',
    extra: Record<string, string | string[]> = {},
  ) => {
    res.writeHead(status, { ...SECURITY_HEADERS, 'content-type': type, ...extra });
    res.end(body);
  };
  const unauthorized = (res: ServerResponse, message = '') =>
    send(res, 401, LOGIN_PAGE(path, message), TYPES['.html'], { 'www-authenticate': 'Bearer' });

  /** Who the request is, or why not: a wrong bearer token counts as a failure. */
  const identify = (req: IncomingMessage, ip: string): AdminIdentity | 'bad' | undefined => {
    const authz = req.headers.authorization;
    if (authz !== undefined) {
      const given = /^Bearer +(\S{1,1024})$/i.exec(authz)?.[1];
      return o.auth.tokenOk(given) ? o.auth.identity('bearer', ip) : 'bad';
    }
    const cookie = o.auth.session(readCookie(req.headers.cookie, COOKIE));
    return cookie ? o.auth.identity({ cookie }, ip) : undefined;
  };

  const cookieFlags = `Path=${path}; HttpOnly; SameSite=Strict${o.secureCookie ? '; Secure' : ''}`;

  return (req, res) => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const pathname = q === -1 ? url : url.slice(0, q);
    if (pathname !== path && !pathname.startsWith(`${path}/`)) return false;
    const view = toRequestView(req);
    const ip = o.proxies.clientIp(view);
    if (!o.tlsOk(view)) {
      send(res, ErrorCodes.WSG_TLS_REQUIRED.httpStatus, JSON.stringify({ error: 'WSG_TLS_REQUIRED' }));
      return true;
    }
    if (o.auth.overRequests(ip) || o.auth.lockedOut(ip)) {
      send(res, 429, JSON.stringify({ error: 'WSG_RATE_LIMITED' }), 'application/json', {
        'retry-after': '60',
      });
      return true;
    }
    const rest = pathname.slice(path.length);
    if (rest === '/login' && req.method === 'POST') {
      if (!sameOrigin(req)) {
        send(res, 403, JSON.stringify({ error: 'WSG_ORIGIN_FORBIDDEN' }));
        return true;
      }
      void readBody(req).then((body) => {
        const token = body === undefined ? undefined : (new URLSearchParams(body).get('token') ?? undefined);
        if (!o.auth.tokenOk(token)) {
          o.auth.failed(ip);
          return unauthorized(res, 'Wrong token.');
        }
        send(res, 303, '', 'text/plain', {
          location: `${path}/`,
          'set-cookie': `${COOKIE}=${o.auth.login()}; ${cookieFlags}; Max-Age=${Math.floor(o.options.sessionTtlMs / 1000)}`,
        });
      });
      return true;
    }
    const who = identify(req, ip);
    if (who === 'bad') o.auth.failed(ip);
    if (who === undefined || who === 'bad') {
      unauthorized(res);
      return true;
    }
    if (rest === '/logout' && req.method === 'POST') {
      if (!sameOrigin(req)) {
        send(res, 403, JSON.stringify({ error: 'WSG_ORIGIN_FORBIDDEN' }));
        return true;
      }
      const c = readCookie(req.headers.cookie, COOKIE);
      if (c) o.auth.logout(c);
      send(res, 303, '', 'text/plain', {
        location: `${path}/`,
        'set-cookie': `${COOKIE}=; ${cookieFlags}; Max-Age=0`,
      });
      return true;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      send(res, 405, JSON.stringify({ error: 'WSG_BAD_REQUEST' }), 'application/json', { allow: 'GET' });
      return true;
    }
    if (rest === '/api/ticket') {
      send(res, 200, JSON.stringify({ ticket: o.auth.ticket(who), socket: o.options.socketPath }));
      return true;
    }
    if (page === null) page = loadPage(path);
    if (!page) {
      send(res, 503, 'dashboard page not built (npm run build)\n', 'text/plain');
      return true;
    }
    if (rest === '' || rest === '/' || rest === '/index.html') {
      send(res, 200, page.index, TYPES['.html']);
      return true;
    }
    const asset = /^\/assets\/([\w.-]{1,128})$/.exec(rest)?.[1];
    const body = asset === undefined ? undefined : page.assets.get(asset);
    if (asset !== undefined && body !== undefined) {
      send(res, 200, body, TYPES[asset.slice(asset.lastIndexOf('.'))] ?? 'application/octet-stream');
      return true;
    }
    send(res, 404, JSON.stringify({ error: 'not found' }));
    return true;
  };
}
