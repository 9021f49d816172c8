import { randomBytes } from 'node:crypto';
import { connect as netConnect, type Socket } from 'node:net';

/**
 * A hand-written WebSocket peer over raw TCP, for attacks a real client library refuses to
 * send: it writes the upgrade request and frames byte by byte and parses what comes back.
 */

/** Opcodes by name (RFC 6455 5.2), plus the reserved ones attackers like. */
export const Op = { cont: 0x0, text: 0x1, binary: 0x2, close: 0x8, ping: 0x9, pong: 0xa } as const;

export interface FrameSpec {
  opcode: number;
  payload?: Buffer | string;
  /** FIN bit. @default true */
  fin?: boolean;
  /** RSV1-3 as a 3-bit number (4 = RSV1). @default 0 */
  rsv?: number;
  /** Clients must mask; false sends the frame unmasked. @default true */
  mask?: boolean;
  /** Announce this length instead of the payload's (a lie, e.g. 2^63). */
  length?: bigint;
}

/** Encodes one frame exactly as specified, whether or not it is legal. */
export function encodeFrame(spec: FrameSpec): Buffer {
  const payload =
    typeof spec.payload === 'string' ? Buffer.from(spec.payload) : (spec.payload ?? Buffer.alloc(0));
  const mask = spec.mask ?? true;
  const length = spec.length ?? BigInt(payload.length);
  const head: number[] = [((spec.fin ?? true) ? 0x80 : 0) | ((spec.rsv ?? 0) << 4) | (spec.opcode & 0x0f)];
  const m = mask ? 0x80 : 0;
  let ext = Buffer.alloc(0);
  if (length < 126n) head.push(m | Number(length));
  else if (length < 65536n) {
    head.push(m | 126);
    ext = Buffer.alloc(2);
    ext.writeUInt16BE(Number(length));
  } else {
    head.push(m | 127);
    ext = Buffer.alloc(8);
    ext.writeBigUInt64BE(length);
  }
  if (!mask) return Buffer.concat([Buffer.from(head), ext, payload]);
  const key = randomBytes(4);
  const masked = Buffer.alloc(payload.length);
  for (let i = 0; i < payload.length; i++) masked[i] = (payload[i] as number) ^ (key[i & 3] as number);
  return Buffer.concat([Buffer.from(head), ext, key, masked]);
}

/** A close frame's payload: the code (2 bytes) and an optional reason. */
export function closePayload(code: number, reason = ''): Buffer {
  const b = Buffer.alloc(2 + Buffer.byteLength(reason));
  b.writeUInt16BE(code);
  b.write(reason, 2);
  return b;
}

export interface ServerFrame {
  fin: boolean;
  opcode: number;
  payload: Buffer;
}

export interface HttpAnswer {
  status: number;
  /** Lower-cased header names. */
  headers: Record<string, string>;
  body: string;
}

export interface RawSocket {
  socket: Socket;
  /** Writes bytes as they are (frames, handshake pieces). */
  write(data: Buffer | string): Promise<void>;
  /** Resolves with the HTTP answer to the upgrade (status line + headers; body if any arrives). */
  http(timeoutMs?: number): Promise<HttpAnswer>;
  /** Resolves with the next server frame after the handshake. */
  nextFrame(timeoutMs?: number): Promise<ServerFrame>;
  /** Resolves with the close frame's code and reason (skipping other frames), or rejects. */
  closeFrame(timeoutMs?: number): Promise<{ code: number | undefined; reason: string }>;
  /** Resolves once the server ended the TCP connection. */
  ended: Promise<void>;
  /** Bytes received and not yet read: above 0 once the server answered something. */
  readonly buffered: number;
  destroy(): void;
}

/** Opens a TCP connection to 127.0.0.1:port and buffers everything the server sends. */
export async function rawConnect(port: number): Promise<RawSocket> {
  const socket = netConnect({ host: '127.0.0.1', port });
  socket.setNoDelay(true);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  let buf = Buffer.alloc(0);
  let headerDone = false;
  let isEnded = false;
  const listeners = new Set<() => void>();
  const wake = () => {
    for (const l of [...listeners]) l();
  };
  socket.on('data', (d: Buffer) => {
    buf = Buffer.concat([buf, d]);
    wake();
  });
  socket.on('error', () => {});
  const ended = new Promise<void>((resolve) =>
    socket.once('close', () => {
      isEnded = true;
      wake();
      resolve();
    }),
  );

  /** Waits until `take` returns a value (it is re-run on every chunk), or rejects on close/timeout. */
  const waitFor = <T>(take: () => T | undefined, what: string, timeoutMs: number): Promise<T> =>
    new Promise((resolve, reject) => {
      const check = () => {
        const v = take();
        if (v !== undefined) {
          done();
          resolve(v);
        } else if (isEnded) {
          done();
          reject(new Error(`connection closed before ${what}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`no ${what} within ${timeoutMs} ms`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        listeners.delete(check);
      };
      listeners.add(check);
      check();
    });

  const takeFrame = (): ServerFrame | undefined => {
    if (!headerDone || buf.length < 2) return undefined;
    const b0 = buf[0] as number;
    const b1 = buf[1] as number;
    let len = b1 & 0x7f;
    let off = 2;
    if (len === 126) {
      if (buf.length < 4) return undefined;
      len = buf.readUInt16BE(2);
      off = 4;
    } else if (len === 127) {
      if (buf.length < 10) return undefined;
      len = Number(buf.readBigUInt64BE(2));
      off = 10;
    }
    if (buf.length < off + len) return undefined;
    const frame = { fin: (b0 & 0x80) !== 0, opcode: b0 & 0x0f, payload: buf.subarray(off, off + len) };
    buf = buf.subarray(off + len);
    return frame;
  };

  const raw: RawSocket = {
    socket,
    ended,
    write: (data) =>
      new Promise((resolve, reject) => {
        if (socket.destroyed) return reject(new Error('socket destroyed'));
        socket.write(data, (err) => (err ? reject(err) : resolve()));
      }),
    async http(timeoutMs = 5000) {
      const head = await waitFor(
        () => {
          const end = buf.indexOf('\r\n\r\n');
          if (end === -1) return undefined;
          const text = buf.subarray(0, end).toString('latin1');
          buf = buf.subarray(end + 4);
          headerDone = true;
          return text;
        },
        'HTTP answer',
        timeoutMs,
      );
      const [statusLine = '', ...lines] = head.split('\r\n');
      const headers: Record<string, string> = {};
      for (const l of lines) {
        const i = l.indexOf(':');
        if (i > 0) headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
      }
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1] ?? 0);
      let body = '';
      if (status !== 101) {
        const n = Number(headers['content-length'] ?? 0);
        if (n > 0) {
          await waitFor(() => (buf.length >= n ? true : undefined), 'HTTP body', timeoutMs).catch(() => {});
          body = buf.subarray(0, n).toString();
        }
      }
      return { status, headers, body };
    },
    nextFrame: (timeoutMs = 5000) => waitFor(takeFrame, 'frame', timeoutMs),
    async closeFrame(timeoutMs = 5000) {
      for (;;) {
        const f = await raw.nextFrame(timeoutMs);
        if (f.opcode !== Op.close) continue;
        return {
          code: f.payload.length >= 2 ? f.payload.readUInt16BE(0) : undefined,
          reason: f.payload.subarray(2).toString(),
        };
      }
    },
    destroy: () => socket.destroy(),
    get buffered() {
      return buf.length;
    },
  };
  return raw;
}

export interface HandshakeOptions {
  path?: string;
  method?: string;
  /** @default '1.1' */
  httpVersion?: string;
  /** Replaces the default headers of the same name (case-sensitive); `undefined` leaves one out. */
  headers?: Record<string, string | undefined>;
  /** Raw header lines appended as they are (e.g. 2,000 of them). */
  extraLines?: string[];
}

/** The text of an upgrade request; a valid one unless options say otherwise. */
export function upgradeRequest(port: number, options: HandshakeOptions = {}): string {
  const headers: Record<string, string | undefined> = {
    Host: `127.0.0.1:${port}`,
    Upgrade: 'websocket',
    Connection: 'Upgrade',
    'Sec-WebSocket-Key': randomBytes(16).toString('base64'),
    'Sec-WebSocket-Version': '13',
    ...options.headers,
  };
  const lines = [`${options.method ?? 'GET'} ${options.path ?? '/ws'} HTTP/${options.httpVersion ?? '1.1'}`];
  for (const [k, v] of Object.entries(headers)) if (v !== undefined) lines.push(`${k}: ${v}`);
  lines.push(...(options.extraLines ?? []));
  return `${lines.join('\r\n')}\r\n\r\n`;
}

/** Connects, sends the upgrade request, and reads the HTTP answer. */
export async function rawHandshake(
  port: number,
  options: HandshakeOptions = {},
): Promise<{ raw: RawSocket; answer: HttpAnswer }> {
  const raw = await rawConnect(port);
  await raw.write(upgradeRequest(port, options));
  return { raw, answer: await raw.http() };
}

/** A raw socket that completed the upgrade (101), optionally authenticated with `token`. */
export async function rawUpgraded(port: number, token?: string): Promise<RawSocket> {
  const { raw, answer } = await rawHandshake(
    port,
    token ? { headers: { Authorization: `Bearer ${token}` } } : {},
  );
  if (answer.status !== 101) throw new Error(`upgrade answered ${answer.status}`);
  if (token) {
    const f = await raw.nextFrame();
    if (!f.payload.toString().includes('"auth_ok"')) throw new Error(`expected auth_ok, got ${f.payload}`);
  }
  return raw;
}
