import { request } from 'node:http';
import WebSocket, { type ClientOptions } from 'ws';

export interface Closed {
  code: number;
  reason: string;
}

/**
 * A raw protocol peer over `ws` for tests: queues every frame it gets, so a test can
 * await them in order, and records the close.
 */
export interface Peer {
  ws: WebSocket;
  /** Every frame received so far, raw text. */
  frames: string[];
  /** Resolves with the next JSON message (or the next one matching `type`). */
  next(type?: string, timeoutMs?: number): Promise<Record<string, unknown>>;
  send(data: unknown): void;
  sendRaw(data: string | Buffer, binary?: boolean): void;
  closed: Promise<Closed>;
  /** Connects, authenticates with the `auth` message, and returns auth_ok. */
  auth(token: string): Promise<Record<string, unknown>>;
  close(): void;
}

export async function connect(
  url: string,
  options: ClientOptions & { protocols?: string[] } = {},
): Promise<Peer> {
  const { protocols, ...rest } = options;
  const ws = new WebSocket(url, protocols ?? [], rest);
  const frames: string[] = [];
  const queue: Record<string, unknown>[] = [];
  const waiters: { type: string | undefined; resolve: (m: Record<string, unknown>) => void }[] = [];
  ws.on('message', (data) => {
    const text = data.toString();
    frames.push(text);
    const msg = JSON.parse(text) as Record<string, unknown>;
    const i = waiters.findIndex((w) => w.type === undefined || w.type === msg.type);
    if (i >= 0) {
      const [w] = waiters.splice(i, 1);
      w?.resolve(msg);
    } else queue.push(msg);
  });
  const closed = new Promise<Closed>((resolve) => {
    ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() }));
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
  });
  ws.on('error', () => {});
  const peer: Peer = {
    ws,
    frames,
    closed,
    next(type, timeoutMs = 5000) {
      const i = queue.findIndex((m) => type === undefined || m.type === type);
      if (i >= 0) return Promise.resolve(queue.splice(i, 1)[0] as Record<string, unknown>);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`no ${type ?? 'message'} within ${timeoutMs} ms`)),
          timeoutMs,
        );
        waiters.push({
          type,
          resolve: (m) => {
            clearTimeout(timer);
            resolve(m);
          },
        });
      });
    },
    send(data) {
      ws.send(JSON.stringify(data));
    },
    sendRaw(data, binary = false) {
      ws.send(data, { binary });
    },
    async auth(token) {
      peer.send({ type: 'auth', token });
      return peer.next('auth_ok');
    },
    close() {
      ws.close();
    },
  };
  return peer;
}

/** Connects and authenticates in one step. */
export async function connectAuthed(url: string, token: string, options: ClientOptions = {}) {
  const peer = await connect(url, options);
  const ok = await peer.auth(token);
  return { peer, csrf: ok.csrfToken as string, ok };
}

/** Sends an upgrade request and returns the HTTP status (101 when upgraded) and headers. */
export function upgradeStatus(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  const u = new URL(url.replace(/^ws/, 'http'));
  return new Promise((resolve, reject) => {
    const req = request({
      host: u.hostname,
      port: u.port,
      path: u.pathname + u.search,
      headers: {
        Connection: 'Upgrade',
        Upgrade: 'websocket',
        'Sec-WebSocket-Version': '13',
        'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
        ...headers,
      },
    });
    req.on('upgrade', (res, socket) => {
      socket.destroy();
      resolve({ status: res.statusCode ?? 0, headers: res.headers, body: '' });
    });
    req.on('response', (res) => {
      let body = '';
      res.on('data', (c) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Fails the test if any frame sent to a peer leaks an internal detail. */
export function assertNoLeak(frames: readonly string[]): void {
  for (const frame of frames) {
    // Random ids and tokens are base64url: one may spell "zod" or "jose" by chance.
    const f = frame.replace(/"(sessionId|csrfToken)":"[\w-]+"/g, '"$1":"<random>"');
    if (/at \S+ \(|\.ts:\d|\.js:\d|node_modules|\/src\/|\/work\/|zod|jose|ws@|Error:/i.test(f)) {
      throw new Error(`frame leaks internal detail: ${frame}`);
    }
  }
}
