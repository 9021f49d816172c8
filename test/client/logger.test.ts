import { afterEach, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import { z } from 'zod';
import { SecureWebSocket } from '../../src/client/index.js';
import { createDebugLog, createSecretList, redact } from '../../src/client/logger.js';
import { nextEvent, outcome, reachState } from '../helpers/client.js';
import { signToken, startServer, type TestServer } from '../helpers/server.js';
import { type MinimalServer, startMinimalProtocolServer } from './minimal-protocol-server.js';

describe('redaction of every secret ever held', () => {
  it('still redacts the first of 1000 rotated CSRF tokens, in 8 KiB of filter plus the newest 16', () => {
    const secrets = createSecretList(16);
    const tokens = Array.from({ length: 1000 }, (_, i) => `csrf-${i}-${Math.random().toString(36).slice(2)}`);
    for (const t of tokens) secrets.remember(t);
    expect(secrets.list).toHaveLength(16);
    const lines: string[] = [];
    const log = createDebugLog({
      enabled: true,
      logger: { debug: (m, c) => lines.push(`${m} ${JSON.stringify(c)}`) },
      secrets: () => secrets.list,
      known: (s) => secrets.has(s),
    });
    log(`old token ${tokens[0]} and ${tokens[500]}`, {
      note: `"${tokens[1]}"`,
      sessionId: 'session-0123456789',
    });
    const text = lines.join('\n');
    for (const t of [tokens[0], tokens[1], tokens[500]]) expect(text).not.toContain(t);
    expect(text).toContain('sessio…');
    expect(text).not.toContain('session-0123456789');
    // Every one of them, not only a sample: a filter with a false negative fails here.
    lines.length = 0;
    for (const t of tokens) log(`sent with ${t}`);
    expect(lines.filter((l) => l.includes('csrf-'))).toEqual([]);
    // Ordinary words are not taken for secrets.
    log('refreshing the session now');
    expect(lines.at(-1)).toContain('refreshing the session now');
  });
});

describe('redact', () => {
  it('removes known secrets anywhere, values under secret keys, JWT shapes and bearer subprotocols', () => {
    const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl';
    const out = redact(
      {
        note: 'sent abc-secret-123 twice: abc-secret-123',
        token: 'whatever',
        nested: { csrfToken: 'x', list: [`Bearer ${jwt}`, 'wsguard.bearer.opaque-value, wsguard.v1'] },
        error: new Error(`refused abc-secret-123`),
        count: 3,
      },
      ['abc-secret-123'],
    );
    expect(out).toEqual({
      note: 'sent [redacted] twice: [redacted]',
      token: '[redacted]',
      nested: {
        csrfToken: '[redacted]',
        list: ['Bearer [redacted]', 'wsguard.bearer.[redacted], wsguard.v1'],
      },
      error: { name: 'Error', message: 'refused [redacted]' },
      count: 3,
    });
  });

  it('is a no-op when debug is off, and a throwing logger never escapes', () => {
    const calls: string[] = [];
    createDebugLog({ enabled: false, logger: { debug: (m) => calls.push(m) }, secrets: () => [] })('x');
    expect(calls).toEqual([]);
    const log = createDebugLog({
      enabled: true,
      logger: {
        debug: () => {
          throw new Error('broken logger');
        },
      },
      secrets: () => [],
    });
    expect(() => log('y', { a: 1 })).not.toThrow();
  });
});

describe('debug output of a whole client life never contains a token or a CSRF token', () => {
  let srv: TestServer | undefined;
  let stub: MinimalServer | undefined;
  afterEach(async () => {
    vi.restoreAllMocks();
    await srv?.close();
    await stub?.close();
    srv = stub = undefined;
  });

  /** A real `ws` socket that records the CSRF tokens the server hands out. */
  function csrfTap(csrfs: string[]) {
    return class extends WebSocket {
      constructor(url: string, protocols?: string | string[]) {
        super(url, protocols);
        this.on('message', (data) => {
          const m = JSON.parse(data.toString());
          if (typeof m.csrfToken === 'string') csrfs.push(m.csrfToken);
        });
      }
    };
  }

  function assertClean(lines: string[], secrets: string[]) {
    expect(lines.length).toBeGreaterThan(5);
    expect(secrets.length).toBeGreaterThan(3);
    for (const line of lines) {
      for (const s of secrets) expect(line, 'a secret leaked into the debug log').not.toContain(s);
      expect(line).not.toMatch(/eyJ[\w-]+\.[\w-]+/);
    }
  }

  it.each(['message', 'protocol'] as const)(
    'real server, authTransport %s: connect, send, errors, reconnect, refused refresh',
    async (authTransport) => {
      srv = await startServer({ messages: { echo: z.unknown() }, handlers: { echo: (_c, p) => p } });
      const tokens: string[] = [];
      const csrfs: string[] = [];
      const lines: string[] = [];
      let shift = 0;
      const socket = new SecureWebSocket({
        url: srv.url,
        authTransport,
        getToken: async () => {
          // The 4th token is the refresh: another subject, so the real server refuses it (4401).
          const t = await signToken(
            tokens.length === 3 ? 'intruder' : 'logged',
            tokens.length >= 4 ? { exp: Math.floor(Date.now() / 1000) + 7200 } : {},
          );
          tokens.push(t);
          return t;
        },
        WebSocket: csrfTap(csrfs),
        debug: true,
        logger: { debug: (m, c) => lines.push(`${m} ${JSON.stringify(c ?? {})}`) },
        heartbeat: { intervalMs: 30, timeoutMs: 2000 },
        reconnect: { minDelayMs: 10, maxDelayMs: 20 },
        now: () => Date.now() + shift,
      });
      await reachState(socket, 'open');
      await socket.send({ type: 'echo', payload: { note: 'hello' } });
      await outcome(socket.send({ type: 'unknown', payload: 1 }));
      for (const s of srv.sockets) s.destroy();
      await nextEvent(socket, 'open');
      // Jump the clock to just before the token's exp: the refresh is refused, the client reconnects.
      shift = 3_600_000 - 1_500;
      for (const s of srv.sockets) s.destroy();
      await nextEvent(socket, 'open'); // back, with a token one refresh margin from exp
      await nextEvent(socket, 'open'); // the refresh was refused: back again with a fresh token
      await socket.send({ type: 'echo', payload: 2 });
      socket.close();
      assertClean(lines, [...tokens, ...csrfs]);
      expect(lines.some((l) => l.startsWith('refresh failed'))).toBe(true);
      expect(tokens.length).toBeGreaterThanOrEqual(4);
    },
  );

  it('minimal protocol server: refresh with a rotated CSRF token, and a getToken() error that quotes the token', async () => {
    const csrfs: string[] = [];
    stub = await startMinimalProtocolServer(async (conn) => {
      csrfs.push((await conn.authenticate()).csrf);
      conn.send({ type: 'session_expiring', expiresAt: Date.now() + 30_000 });
      await conn.next('refresh');
      csrfs.push('rotated-csrf-value-0123456789');
      conn.send({ type: 'refresh_ok', expiresAt: Date.now() + 3_600_000, csrfToken: csrfs[1] });
      await new Promise((resolve) => setTimeout(resolve, 20));
      conn.ws.close(1011, 'WSG_INTERNAL');
    });
    const debug = vi.spyOn(console, 'debug').mockImplementation(() => {});
    const tokens = ['opaque-token-one-abcdef', 'opaque-token-two-abcdef'];
    let calls = 0;
    const socket = new SecureWebSocket({
      url: stub.url,
      getToken: () => {
        const t = tokens[calls++];
        if (t === undefined) throw new Error(`token ${tokens[1]} was revoked`);
        return t;
      },
      debug: true, // the default logger: console.debug
      reconnect: { minDelayMs: 10, maxDelayMs: 20 },
    });
    await reachState(socket, 'open');
    const error = await nextEvent(socket, 'error');
    expect(error.message).toBe('getToken() failed');
    expect(debug.mock.calls.some((c) => String(c[0]).includes('session refreshed'))).toBe(true);
    const lines = debug.mock.calls.map((c) => c.map((a) => JSON.stringify(a)).join(' '));
    socket.close();
    assertClean(lines, [...tokens, ...csrfs]);
  });
});

describe('createSecretList', () => {
  it('remembers each secret once and keeps only the newest max', () => {
    const secrets = createSecretList(2);
    for (const s of ['a-token', 'b-token', 'a-token', 'c-token']) secrets.remember(s);
    expect(secrets.list).toEqual(['b-token', 'c-token']);
  });
});
