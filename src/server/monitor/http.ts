import type { Server as HttpServer, IncomingMessage, ServerResponse } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import { createBoundedMap } from '../bounded-map.js';
import { DEFAULTS } from '../defaults.js';
import { safeEqual } from '../ids.js';
import { type Bucket, type BucketRate, fullBucket, take } from '../limits/token-bucket.js';

export interface HttpEndpointsOptions {
  /** Path of the JSON health endpoint, or false for none. @default '/healthz' */
  healthPath?: string | false;
  /** Path of the Prometheus endpoint, or false for none. @default '/metrics' */
  metricsPath?: string | false;
  /** Bearer token `/metrics` requires (401 without it). Set it in production. @default undefined (public) */
  metricsToken?: string;
  /**
   * Answer these paths on the server given to setupWebSockets, ahead of the request handlers
   * it already has. Off: call `wss.httpHandler(req, res)` yourself (it returns true when it answered).
   * @default true
   */
  mount?: boolean;
  /**
   * Requests to these two paths per peer address (the TCP peer, not X-Forwarded-For: monitoring
   * usually scrapes directly), apart from the WebSocket limits; over it, 429 with Retry-After.
   * Load balancers and Prometheus ask every few seconds and never meet it; a client hammering
   * the scrape does. false: no limit.
   * @default { rate: 1, burst: 10 }
   */
  rateLimit?: BucketRate | false;
}

export type HttpHandler = (req: IncomingMessage, res: ServerResponse) => boolean;

export function createHttpHandler(o: {
  options: HttpEndpointsOptions;
  health: () => { status: string } & Record<string, unknown>;
  metrics: () => Promise<string>;
  metricsContentType: string;
}): HttpHandler {
  const healthPath = o.options.healthPath ?? DEFAULTS.http.healthPath;
  const metricsPath = o.options.metricsPath ?? DEFAULTS.http.metricsPath;
  const token = o.options.metricsToken;
  const rate = o.options.rateLimit ?? { rate: 1, burst: 10 };
  // Bounded like every per-address table: a flood of addresses evicts the oldest buckets.
  const buckets = createBoundedMap<Bucket>(4096);
  const limited = (req: IncomingMessage, res: ServerResponse): boolean => {
    if (rate === false) return false;
    const now = Date.now();
    const key = req.socket.remoteAddress ?? '';
    const bucket = buckets.get(key) ?? fullBucket(rate, now);
    const waitMs = take(bucket, rate, 1, now);
    buckets.set(key, bucket, now + (rate.burst * 1000) / rate.rate);
    if (waitMs === 0) return false;
    res.writeHead(429, { 'content-type': 'text/plain', 'retry-after': String(Math.ceil(waitMs / 1000)) });
    res.end('Too Many Requests\n');
    return true;
  };
  return (req, res) => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    const ours =
      (healthPath !== false && path === healthPath) || (metricsPath !== false && path === metricsPath);
    if (ours && limited(req, res)) return true;
    if (healthPath !== false && path === healthPath) {
      const body = o.health();
      res.writeHead(body.status === 'ok' ? 200 : 503, {
        'content-type': 'application/json',
        'cache-control': 'no-store',
      });
      res.end(JSON.stringify(body));
      return true;
    }
    if (metricsPath !== false && path === metricsPath) {
      if (token !== undefined) {
        const given = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
        if (given === undefined || !safeEqual(given, token)) {
          res.writeHead(401, { 'content-type': 'text/plain', 'www-authenticate': 'Bearer' });
          res.end('Unauthorized\n');
          return true;
        }
      }
      o.metrics().then(
        (text) => {
          res.writeHead(200, { 'content-type': o.metricsContentType, 'cache-control': 'no-store' });
          res.end(text);
        },
        () => {
          res.writeHead(500, { 'content-type': 'text/plain' });
          res.end('metrics unavailable\n');
        },
      );
      return true;
    }
    return false;
  };
}

/**
 * Puts `handler` in front of the server's existing 'request' listeners: Node calls every
 * listener for every request, so ours cannot simply be added next to the app's (both would
 * answer). The app's listeners run only for requests the handler did not answer. Returns the
 * function that restores them.
 */
export function mountHttpHandler(server: HttpServer | HttpsServer, handler: HttpHandler): () => void {
  type Listener = (req: IncomingMessage, res: ServerResponse) => void;
  const original = server.listeners('request') as Listener[];
  server.removeAllListeners('request');
  const front: Listener = (req, res) => {
    if (handler(req, res)) return;
    if (original.length === 0) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('Not found\n');
      return;
    }
    for (const l of original) l.call(server, req, res);
  };
  server.on('request', front);
  return () => {
    server.off('request', front);
    for (const l of original) server.on('request', l);
  };
}
