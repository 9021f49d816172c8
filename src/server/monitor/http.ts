import type { Server as HttpServer, IncomingMessage, ServerResponse } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import { createBoundedMap } from '../bounded-map.js';
import { DEFAULTS } from '../defaults.js';
import { WsgConfigError } from '../errors.js';
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
   * Answer these paths on the server given to setupWebSockets, ahead of its request handlers
   * (those added before setup and after it alike); every other request reaches them untouched.
   * Off: call `wss.httpHandler(req, res)` yourself (it returns true when it answered).
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
        (err: unknown) => {
          // The one failure worth telling the scraper: the optional prom-client is not installed.
          const missing = err instanceof WsgConfigError;
          res.writeHead(missing ? 501 : 500, { 'content-type': 'text/plain' });
          res.end(missing ? `${err.message}\n` : 'metrics unavailable\n');
        },
      );
      return true;
    }
    return false;
  };
}

type Server = HttpServer | HttpsServer;
type Emit = Server['emit'];

/** Per server: its own emit and the handlers of every endpoint mounted on it. */
const mounted = new WeakMap<Server, { emit: Emit; handlers: Set<HttpHandler> }>();

/**
 * Answers `handler`'s paths ahead of the server's 'request' listeners, whenever those were
 * added: Node calls every listener for every request, so a listener of ours next to the app's
 * would have both answer, and taking the app's listeners away would miss those added later.
 * Instead the server's `emit` gives each request to the handlers first; the listeners see
 * only the requests no handler answered (a server with no listener answers 404). Returns the
 * function that undoes it.
 */
export function mountHttpHandler(server: Server, handler: HttpHandler): () => void {
  let entry = mounted.get(server);
  if (entry === undefined) {
    const own = server.emit;
    const handlers = new Set<HttpHandler>();
    entry = { emit: own, handlers };
    mounted.set(server, entry);
    server.emit = function emit(this: Server, event: string | symbol, ...args: unknown[]): boolean {
      if (event === 'request') {
        const [req, res] = args as [IncomingMessage, ServerResponse];
        for (const h of handlers) if (h(req, res)) return true;
        if (this.listenerCount('request') === 0) {
          res.writeHead(404, { 'content-type': 'text/plain' });
          res.end('Not found\n');
          return true;
        }
      }
      return (own as (this: Server, event: string | symbol, ...a: unknown[]) => boolean).call(
        this,
        event,
        ...args,
      );
    } as Emit;
  }
  entry.handlers.add(handler);
  return () => {
    const e = mounted.get(server);
    if (e === undefined || !e.handlers.delete(handler) || e.handlers.size > 0) return;
    server.emit = e.emit;
    mounted.delete(server);
  };
}
