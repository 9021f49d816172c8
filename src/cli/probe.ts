import type { IncomingHttpHeaders } from 'node:http';
import WebSocket from 'ws';

/** A raw protocol-v1 connection for checks that must send what SecureWebSocket never would. */
export interface Probe {
  ws: WebSocket;
  /** The next JSON message (matching `type` when given), or undefined after `timeoutMs`. */
  next(type?: string, timeoutMs?: number): Promise<Record<string, unknown> | undefined>;
  send(message: unknown): void;
  sendRaw(data: string | Buffer): void;
  /** Resolves with the close code and reason once the socket is closed. */
  closed: Promise<{ code: number; reason: string }>;
  close(): void;
  /** Whether the server sent a frame above `maxPayload` (the probe then closed the socket). */
  oversized(): boolean;
  /** The headers of the server's 101 answer. */
  headers: IncomingHttpHeaders;
}

/** The largest frame a probe socket reads from a server: 1 MiB. */
export const PROBE_MAX_PAYLOAD = 1024 * 1024;

/** Unread messages a probe keeps; a server flooding past this loses the rest. */
const MAX_QUEUED = 1000;

export class UnreachableError extends Error {
  override name = 'UnreachableError';
}

/** Opens a raw socket; an unreachable server rejects with UnreachableError (one readable line). */
export function openProbe(
  url: string,
  options: {
    timeoutMs?: number;
    headers?: Record<string, string>;
    rejectUnauthorized?: boolean;
    /** Largest frame read from the server. @default PROBE_MAX_PAYLOAD */
    maxPayload?: number;
    /** Subprotocols to offer. @default none */
    protocols?: readonly string[];
    /** Every frame, from the first: a server may speak in the same packet as its 101 (Engine.IO). @default none */
    onMessage?: (data: WebSocket.RawData, isBinary: boolean) => void;
    /** Offer permessage-deflate (inflation stays bounded by `maxPayload`). @default false */
    perMessageDeflate?: boolean;
  } = {},
): Promise<Probe> {
  const ws = new WebSocket(url, options.protocols?.length ? [...options.protocols] : undefined, {
    headers: options.headers ?? {},
    handshakeTimeout: options.timeoutMs ?? 5000,
    rejectUnauthorized: options.rejectUnauthorized ?? true,
    // The target is untrusted: a frame above this closes the socket (1009) before it is buffered,
    // and without compression a small frame cannot inflate into a large one.
    maxPayload: options.maxPayload ?? PROBE_MAX_PAYLOAD,
    perMessageDeflate: options.perMessageDeflate ?? false,
    maxRedirects: 0,
  });
  let tooLarge = false;
  if (options.onMessage) ws.on('message', options.onMessage);
  let headers: IncomingHttpHeaders = {};
  ws.once('upgrade', (res) => {
    headers = res.headers;
  });
  const inbox: Record<string, unknown>[] = [];
  const waiters: { type: string | undefined; resolve: (m: Record<string, unknown> | undefined) => void }[] =
    [];
  ws.on('message', (data) => {
    let msg: Record<string, unknown>;
    try {
      msg = JSON.parse(data.toString()) as Record<string, unknown>;
    } catch {
      return;
    }
    const i = waiters.findIndex((w) => w.type === undefined || w.type === msg.type);
    if (i >= 0) waiters.splice(i, 1)[0]?.resolve(msg);
    else if (inbox.length < MAX_QUEUED) inbox.push(msg);
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  return new Promise((resolve, reject) => {
    ws.once('open', () => {
      ws.on('error', (err: Error & { code?: string }) => {
        if (err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') tooLarge = true;
      });
      resolve({
        headers,
        oversized: () => tooLarge,
        ws,
        closed,
        next(type, timeoutMs = 3000) {
          const i = inbox.findIndex((m) => type === undefined || m.type === type);
          if (i >= 0) return Promise.resolve(inbox.splice(i, 1)[0]);
          return new Promise((res) => {
            const w = {
              type,
              resolve: (m: Record<string, unknown> | undefined) => {
                clearTimeout(timer);
                res(m);
              },
            };
            const timer = setTimeout(() => {
              waiters.splice(waiters.indexOf(w), 1);
              res(undefined);
            }, timeoutMs);
            waiters.push(w);
          });
        },
        send: (m) => ws.readyState === WebSocket.OPEN && ws.send(JSON.stringify(m)),
        sendRaw: (d) => ws.readyState === WebSocket.OPEN && ws.send(d),
        close: () => ws.terminate(),
      });
    });
    ws.once('unexpected-response', (_req, res) => {
      // The body names the refusal (e.g. WSG_ORIGIN_FORBIDDEN); read a little of it, briefly.
      let body = '';
      const done = () => {
        clearTimeout(timer);
        reject(
          Object.assign(new Error(`HTTP ${res.statusCode} from ${url}`), {
            status: res.statusCode,
            body,
            headers: res.headers,
          }),
        );
        ws.terminate();
      };
      const timer = setTimeout(done, 500);
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        if (body.length < 1024) body += chunk;
      });
      res.once('end', done);
      res.once('error', done);
    });
    ws.once('error', (err: Error & { code?: string }) => {
      const why =
        err.code === 'ECONNREFUSED'
          ? 'connection refused'
          : err.code === 'ENOTFOUND'
            ? 'host not found'
            : err.message;
      reject(new UnreachableError(`cannot reach ${url} (${why})`));
    });
  });
}

/** A probe that has sent `auth` and got `auth_ok` (or undefined when refused); the caller closes it. */
export async function authedProbe(url: string, token: string) {
  const probe = await openProbe(url);
  probe.send({ type: 'auth', token });
  const ok = await probe.next('auth_ok');
  return { probe, ok };
}

/**
 * The `ws` constructor for every SecureWebSocket a CLI opens against an untrusted server: no
 * compression offered (a small frame cannot inflate to gigabytes), frames above
 * PROBE_MAX_PAYLOAD refused, no redirects.
 */
export class BoundedWebSocket extends WebSocket {
  constructor(address: string | URL, protocols?: string | string[], options?: WebSocket.ClientOptions) {
    super(address, protocols, {
      ...options,
      perMessageDeflate: false,
      maxPayload: PROBE_MAX_PAYLOAD,
      maxRedirects: 0,
    });
  }
}
