import { Server as HttpServer } from 'node:http';
import { Server as HttpsServer } from 'node:https';
import { WsgConfigError } from '../errors.js';

/**
 * setupWebSockets listens for the server's 'upgrade' events, which only the node:http(s)
 * server emits: given a framework's app instead, nothing would ever connect and plain
 * JavaScript callers would get no error at all. Says which object to pass instead.
 */
export function assertHttpServer(server: unknown): asserts server is HttpServer | HttpsServer {
  if (server instanceof HttpServer || server instanceof HttpsServer) return;
  const hint = describe(server);
  throw new WsgConfigError(
    'WSG_CONFIG_INVALID_SERVER',
    `setupWebSockets needs the node:http or node:https Server, got ${hint.got}. ${hint.fix}`,
  );
}

type Bag = { [key: string]: unknown };

function describe(x: unknown): { got: string; fix: string } {
  const o = (typeof x === 'function' || (typeof x === 'object' && x !== null) ? x : {}) as Bag;
  const isServer = (v: unknown) => v instanceof HttpServer || v instanceof HttpsServer;
  if (typeof x === 'function' && typeof o.listen === 'function' && typeof o.use === 'function')
    return {
      got: 'an Express-style app (a request handler function)',
      fix: 'Pass the server `app.listen(port)` returns, or `http.createServer(app)`.',
    };
  if (typeof o.callback === 'function' && typeof o.listen === 'function')
    return {
      got: 'a Koa app',
      fix: 'Pass the server `app.listen(port)` returns, or `http.createServer(app.callback())`.',
    };
  if (isServer(o.server))
    return {
      got: 'an object holding a server (a Fastify instance?)',
      fix: 'Pass its `.server`, e.g. `fastify.server`.',
    };
  if (typeof o.fetch === 'function' && typeof o.route === 'function')
    return {
      got: 'a Hono app',
      fix: 'Pass the server `serve({ fetch: app.fetch })` (@hono/node-server) returns.',
    };
  const got =
    x === null
      ? 'null'
      : typeof x === 'object'
        ? `an object (${(x as object).constructor?.name ?? 'no prototype'})`
        : typeof x;
  return {
    got,
    fix: 'Pass the server your app listens on: `http.createServer(app)`, or the value `app.listen(port)` returns.',
  };
}
