import { randomBytes } from 'node:crypto';
import { request as httpRequest, type IncomingHttpHeaders, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Duplex } from 'node:stream';
import type WebSocket from 'ws';
import { openProbe, UnreachableError } from '../probe.js';
import { type Answer, describe } from './answers.js';
import type { AuditContext } from './context.js';
import { adoptAnnouncedLimits, paceUpgrade, retryAfter, SkipError, ThrottledError } from './pacing.js';
import type { AppProbe, Frame, Opening } from './protocols/types.js';
import { isJsonRefusal, jsonMessage } from './protocols/wsguard.js';

export { type Answer, describe, isThrottle, short } from './answers.js';
export { isLoopback, type Lookup, resolvesToLoopback } from './host.js';
export { paceMessages, paceUpgrade, retryAfter, SkipError, ThrottledError } from './pacing.js';
export type { Frame } from './protocols/types.js';

/** The http(s) URL of `path` on the target's host and port. */
export function httpUrl(target: URL, path: string): URL {
  const u = new URL(target.href);
  u.protocol = target.protocol === 'wss:' ? 'https:' : 'http:';
  const [pathname = '/', query] = path.split('?', 2);
  u.pathname = pathname;
  u.search = query ? `?${query}` : '';
  return u;
}

export interface HttpAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  /** At most MAX_BODY characters. */
  body: string;
  /** The server sent more than MAX_BODY; the rest was not read. */
  truncated?: boolean;
}

/** The most of an HTTP body the audit reads from the target. */
export const MAX_BODY = 64 * 1024;

class DeadlineError extends Error {
  constructor(ms: number) {
    super(`no complete answer within ${ms} ms`);
  }
}
const TLS_ERRORS = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS/;

function send(
  ctx: AuditContext,
  url: URL,
  headers: Record<string, string>,
  onUpgrade: boolean,
  hold?: Duplex[],
): Promise<HttpAnswer> {
  const options: RequestOptions & { rejectUnauthorized: boolean } = {
    method: 'GET',
    headers,
    timeout: ctx.bounds.timeoutMs * 2,
    rejectUnauthorized: !ctx.insecure,
    maxHeaderSize: 16 * 1024,
  };
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  const limitMs = ctx.bounds.timeoutMs;
  return new Promise<HttpAnswer>((resolve, reject) => {
    const req = request(url, options);
    // The idle timeout alone lets a server that trickles a byte now and then hold the audit forever.
    let expired = false;
    const deadline = setTimeout(() => {
      expired = true;
      req.destroy(new DeadlineError(limitMs));
    }, limitMs);
    req.on('upgrade', (res, socket) => {
      clearTimeout(deadline);
      if (hold) hold.push(socket);
      else socket.destroy();
      resolve({ status: 101, headers: res.headers, body: '' });
    });
    req.on('response', (res) => {
      let body = '';
      let truncated = false;
      const finish = () => {
        clearTimeout(deadline);
        const answer: HttpAnswer = {
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: body.slice(0, MAX_BODY),
          ...(truncated ? { truncated } : {}),
        };
        if (onUpgrade && answer.status !== 101) remember(ctx, `HTTP ${answer.status} ${answer.body}`);
        if (truncated) ctx.oversized.push(`${ctx.current} (HTTP body of ${url.pathname})`);
        resolve(answer);
      };
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
        // An untrusted server may send an endless body: keep the first MAX_BODY and hang up.
        if (body.length > MAX_BODY) {
          truncated = true;
          res.removeAllListeners('data');
          res.destroy();
          req.destroy();
          finish();
        }
      });
      res.on('end', finish);
      res.on('error', (err) => {
        if (truncated) return;
        clearTimeout(deadline);
        reject(
          expired
            ? new UnreachableError(
                `no complete answer from ${url.href} within ${limitMs} ms (--timeout plus two round trips)`,
              )
            : err,
        );
      });
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', (err: Error & { code?: string }) => {
      clearTimeout(deadline);
      if (expired) {
        reject(
          new UnreachableError(
            `no complete answer from ${onUpgrade ? ctx.url : url.href} within ${limitMs} ms (--timeout plus two round trips)`,
          ),
        );
        return;
      }
      const why =
        err.code === 'ECONNREFUSED'
          ? 'connection refused'
          : err.code === 'ENOTFOUND'
            ? 'host not found'
            : TLS_ERRORS.test(err.code ?? '')
              ? `${err.message}; pass --insecure to audit it anyway, transport.tls reports the certificate`
              : err.message;
      reject(new UnreachableError(`cannot reach ${onUpgrade ? ctx.url : url.href} (${why})`));
    });
    req.end();
  });
}

/**
 * A raw upgrade request (no WebSocket is kept: a 101 is closed at once). Lets a check set any
 * header, including a forged Origin, and see the exact status, headers and body.
 */
export async function upgrade(
  ctx: AuditContext,
  headers: Record<string, string> = {},
  target: URL = ctx.target,
  /** Keep an accepted socket open here instead of closing it (the connection flood). */
  hold?: Duplex[],
): Promise<HttpAnswer> {
  const url = new URL(target.href);
  url.protocol = target.protocol === 'wss:' ? 'https:' : 'http:';
  // The connection flood (hold) is a deliberate load under --full: not paced, but counted.
  await paceUpgrade(ctx, !hold);
  return send(
    ctx,
    url,
    {
      Connection: 'Upgrade',
      Upgrade: 'websocket',
      'Sec-WebSocket-Version': '13',
      'Sec-WebSocket-Key': randomBytes(16).toString('base64'),
      ...(ctx.protocol.subprotocols.length
        ? { 'Sec-WebSocket-Protocol': ctx.protocol.subprotocols.join(', ') }
        : {}),
      ...headers,
    },
    true,
    hold,
  );
}

/** A plain GET on the target's host (monitoring endpoints). */
export function httpGet(ctx: AuditContext, path: string, headers: Record<string, string> = {}) {
  return send(ctx, httpUrl(ctx.target, path), headers, false);
}

export interface Conn {
  ws: WebSocket;
  /** The headers of the 101 answer. */
  headers: IncomingHttpHeaders;
  /** The `auth_ok` of this socket, when it authenticated. */
  authOk: Record<string, unknown> | undefined;
  csrf: string | undefined;
  /** How the protocol's opening went, when it was made without credentials (auth: false). */
  opening?: Opening;
  /** The protocol's error reply. */
  isRefusal(frame: Frame): boolean;
  /** The next frame, or undefined after `timeoutMs` or once the socket closed. */
  next(timeoutMs?: number): Promise<Frame | undefined>;
  closed: Promise<{ code: number; reason: string }>;
  /** The close, once it happened. */
  closeInfo(): { code: number; reason: string } | undefined;
  send(message: unknown): void;
  sendRaw(data: string | Buffer): void;
  close(): void;
}

function parseObject(text: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(text);
    return v !== null && typeof v === 'object' && !Array.isArray(v)
      ? (v as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** Unread frames one socket keeps, and texts the error checks scan: both bounded. */
const MAX_QUEUED = 1000;
const MAX_SEEN = 2000;

function remember(ctx: AuditContext, text: string) {
  if (ctx.seen.length < MAX_SEEN) ctx.seen.push({ where: ctx.current, text: text.slice(0, 4096) });
}

const THROTTLE_STATUS = new Set([403, 429, 503]);
const THROTTLE_REASON = /WSG_(BLOCKED|BANNED|ANOMALY|RATE_LIMITED|TOO_MANY_CONNECTIONS)/;

/**
 * Opens a socket (through the health command's probe) and, unless the server needs no
 * authentication, authenticates with `auth` and waits for `auth_ok`.
 */
export async function open(
  ctx: AuditContext,
  options: {
    headers?: Record<string, string>;
    url?: string;
    auth?: boolean;
    token?: string;
    /** Make no opening at all (the protocol's deadline for one is what is measured). */
    silent?: boolean;
    /** Offer permessage-deflate (the deflate check); what comes back stays bounded by the probe's maxPayload. */
    deflate?: boolean;
  } = {},
): Promise<Conn> {
  const inbox: Frame[] = [];
  let waiter: ((f: Frame | undefined) => void) | undefined;
  let closeInfo: { code: number; reason: string } | undefined;
  let conn: Conn | undefined;
  const onMessage = (data: WebSocket.RawData, isBinary: boolean) => {
    const buf = Buffer.isBuffer(data)
      ? data
      : Array.isArray(data)
        ? Buffer.concat(data)
        : Buffer.from(data as ArrayBuffer);
    const text = buf.toString('utf8');
    remember(ctx, text);
    const frame = { text, binary: isBinary, json: isBinary ? undefined : parseObject(text) };
    // Any auth_ok (the tokens the checks try included): the sooner the pace follows the server's limits, the better.
    if (frame.json?.type === 'auth_ok' && !ctx.limitsRead) adoptAnnouncedLimits(ctx, frame.json);
    if (conn && ctx.protocol.background(frame, conn)) return;
    const w = waiter;
    waiter = undefined;
    if (w) w(frame);
    else if (inbox.length < MAX_QUEUED) inbox.push(frame);
  };
  let probe: Awaited<ReturnType<typeof openProbe>>;
  await paceUpgrade(ctx);
  try {
    probe = await openProbe(options.url ?? ctx.url, {
      timeoutMs: ctx.bounds.timeoutMs * 2,
      // A browser always sends Origin; without it a server with an origin allow-list refuses every check.
      headers: options.headers ?? { Origin: ctx.origin },
      rejectUnauthorized: !ctx.insecure,
      protocols: ctx.protocol.subprotocols,
      onMessage,
      ...(options.deflate ? { perMessageDeflate: true } : {}),
    });
  } catch (err) {
    const status = Number(/^HTTP (\d+)/.exec((err as Error).message)?.[1]);
    const body = String((err as { body?: unknown }).body ?? '');
    if (status === 403 && body.includes('WSG_ORIGIN_FORBIDDEN'))
      throw new Error(
        `the server refused the Origin ${ctx.origin} (HTTP 403 WSG_ORIGIN_FORBIDDEN); pass --origin with an allowed origin`,
      );
    if (THROTTLE_STATUS.has(status))
      throw new ThrottledError(
        `the server refused a new connection with HTTP ${status}`,
        retryAfter((err as { headers?: IncomingHttpHeaders }).headers),
      );
    throw err;
  }
  void probe.closed.then((c) => {
    closeInfo = c;
    if (c.reason) remember(ctx, c.reason);
    if (probe.oversized()) ctx.oversized.push(ctx.current);
    const w = waiter;
    waiter = undefined;
    w?.(undefined);
  });
  conn = {
    ws: probe.ws,
    headers: probe.headers,
    authOk: undefined,
    csrf: undefined,
    closed: probe.closed,
    closeInfo: () => closeInfo,
    isRefusal: (f) => ctx.protocol.isRefusal(f),
    next(wanted = ctx.bounds.timeoutMs) {
      const queued = inbox.shift();
      if (queued) return Promise.resolve(queued);
      // Past the check's deadline every wait ends at once, so every loop of answers ends too.
      const timeoutMs = Math.min(wanted, ctx.deadline - performance.now());
      if (closeInfo || timeoutMs <= 0) return Promise.resolve(undefined);
      return new Promise((resolve) => {
        const timer = setTimeout(() => {
          waiter = undefined;
          resolve(undefined);
        }, timeoutMs);
        waiter = (f) => {
          clearTimeout(timer);
          resolve(f);
        };
      });
    },
    send: probe.send,
    sendRaw: probe.sendRaw,
    close: probe.close,
  };
  if (options.silent) return conn;
  const opener = ctx.protocol.open;
  if (opener) {
    const token = options.auth === false ? undefined : (options.token ?? ctx.token);
    const o = await opener(conn, token, ctx.bounds.timeoutMs);
    if (!o.ok && token !== undefined) {
      conn.close();
      throw new SkipError(`the server refused the ${ctx.protocol.name} opening with --token (${o.refusal})`);
    }
    conn.opening = o;
  } else if (ctx.protocol.wsguard && (options.auth ?? !ctx.noAuth)) {
    conn.send({ type: 'auth', token: options.token ?? ctx.token });
    const a = await answer(conn, ctx.bounds.timeoutMs);
    if (a.kind === 'reply' && a.frame.json?.type === 'auth_ok') {
      conn.authOk = a.frame.json;
      conn.csrf = typeof a.frame.json.csrfToken === 'string' ? a.frame.json.csrfToken : undefined;
      ctx.authOk ??= a.frame.json;
    } else {
      conn.close();
      const what = describe(a, ctx.bounds.timeoutMs);
      if (THROTTLE_REASON.test(what)) throw new ThrottledError(`the server refused the auditor: ${what}`);
      throw new SkipError(`could not authenticate with --token (${what})`);
    }
  }
  return conn;
}

/** An error reply: wsguard's `{"type":"error"}`, or any object with an `error` key. */
export const isRefusal = isJsonRefusal;

/** The server's next reaction: a frame, a close, or nothing within `timeoutMs`. */
export async function answer(conn: Conn, timeoutMs: number): Promise<Answer> {
  const frame = await conn.next(timeoutMs);
  if (frame) return { kind: 'reply', frame, refused: conn.isRefusal(frame) };
  const closed =
    conn.closeInfo() ?? (await Promise.race([conn.closed, new Promise<undefined>((r) => setTimeout(r, 50))]));
  return closed ? { kind: 'closed', ...closed } : { kind: 'silent' };
}

/** What the protocol builders need to frame an application message on `conn`. */
export const appProbe = (ctx: AuditContext, conn?: Conn): AppProbe => ({
  type: ctx.type,
  payload: ctx.payload,
  csrf: conn?.csrf,
});

/** An application message of the audited type (with --payload when given), and the socket's CSRF token. */
export function appMessage(
  ctx: AuditContext,
  conn: Conn,
  payload: unknown,
  extra: Record<string, unknown> = {},
) {
  return jsonMessage(appProbe(ctx, conn), payload, extra);
}
