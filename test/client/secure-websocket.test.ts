import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { z } from 'zod';
import {
  AckTimeoutError,
  AuthError,
  ClosedError,
  InvalidMessageError,
  SecureWebSocket,
  type SecureWebSocketOptions,
  ServerError,
} from '../../src/client/index.js';
import { createJwtVerifier, type HandlerContext } from '../../src/server/index.js';
import { nextEvent, outcome, reachState } from '../helpers/client.js';
import { assertNoLeak, connectAuthed } from '../helpers/peer.js';
import { freePort } from '../helpers/process.js';
import { signToken, startServer, TEST_SECRET, type TestServer } from '../helpers/server.js';

let srv: TestServer | undefined;
const sockets: { close(): void }[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.close();
  await srv?.close();
  srv = undefined;
});

/** Every frame the client sends and receives, through a real `ws` socket with a tap. */
function tappedWebSocket(sent: string[], received: string[]) {
  return class Tapped extends WebSocket {
    constructor(url: string, protocols?: string | string[]) {
      super(url, protocols);
      this.on('message', (data) => received.push(data.toString()));
    }
    override send(data: string): void {
      sent.push(data);
      super.send(data);
    }
  };
}

const messages = {
  echo: z.unknown(),
  chat: z.object({ text: z.string().min(1).max(20) }),
  shout: z.object({ text: z.string() }),
  hang: z.unknown(),
  boom: z.unknown(),
};

function handlers(log: { type: string; payload: unknown }[] = []) {
  return {
    echo: (_c: HandlerContext, p: unknown) => {
      log.push({ type: 'echo', payload: p });
      return p;
    },
    chat: (_c: HandlerContext, p: { text: string }) => {
      log.push({ type: 'chat', payload: p });
      return { ok: true };
    },
    shout: (ctx: HandlerContext, p: { text: string }) => ctx.broadcast('shouted', { text: p.text }),
    hang: () => new Promise(() => {}),
    boom: () => {
      throw new Error('handler failed halfway');
    },
  };
}

function client(options: SecureWebSocketOptions) {
  const s = new SecureWebSocket(options);
  sockets.push(s);
  return s;
}

describe('SecureWebSocket against a real wsguard server', () => {
  it('runs the seed usage as written: connects, authenticates with an auth message, send() resolves on ack', async () => {
    srv = await startServer({ messages, handlers: handlers() });
    const received: unknown[] = [];
    const socket = client({
      url: srv.url,
      authToken: await signToken('alice'),
      debug: false,
      onMessage: (message) => received.push(message),
    });
    expect(socket.state).toBe('connecting');
    const opened = nextEvent(socket, 'open');
    await expect(socket.send({ type: 'echo', payload: { message: 'Hello, world!' } })).resolves.toEqual({
      message: 'Hello, world!',
    });
    expect(await opened).toMatchObject({ reconnected: false });
    expect(socket.state).toBe('open');
    expect(typeof socket.sessionId).toBe('string');
    socket.close();
    expect(socket.state).toBe('closed');
  });

  it.each(['message', 'protocol'] as const)(
    'authenticates with authTransport %s and never puts the token in the URL',
    async (authTransport) => {
      const seen: string[] = [];
      const jwt = createJwtVerifier({ secret: TEST_SECRET });
      const urls: string[] = [];
      srv = await startServer({
        messages,
        handlers: handlers(),
        auth: {
          verify: (token) => {
            seen.push(token);
            return jwt(token);
          },
        },
      });
      srv.http.prependListener('upgrade', (req) => urls.push(req.url ?? ''));
      const token = await signToken('bob');
      const sent: string[] = [];
      const socket = client({
        url: srv.url,
        authToken: token,
        authTransport,
        WebSocket: tappedWebSocket(sent, []),
      });
      await expect(socket.send({ type: 'echo', payload: 1 })).resolves.toBe(1);
      expect(seen).toEqual([token]);
      expect(urls).toEqual(['/ws']);
      const authFrames = sent.filter((f) => f.includes('"type":"auth"'));
      expect(authFrames).toHaveLength(authTransport === 'message' ? 1 : 0);
    },
  );

  it('attaches the CSRF token from auth_ok to every application message and to no control message', async () => {
    srv = await startServer({ messages, handlers: handlers(), csrf: true });
    const sent: string[] = [];
    const received: string[] = [];
    const socket = client({
      url: srv.url,
      authToken: await signToken('carol'),
      WebSocket: tappedWebSocket(sent, received),
      heartbeat: { intervalMs: 50, timeoutMs: 5000 },
    });
    await socket.send({ type: 'echo', payload: 'a' });
    await socket.send({ type: 'chat', payload: { text: 'hi' } });
    await expect.poll(() => sent.filter((f) => f.includes('"ping"')).length).toBeGreaterThan(1);
    const authOk = JSON.parse(received.find((f) => f.includes('auth_ok')) as string);
    const frames = sent.map((f) => JSON.parse(f) as Record<string, unknown>);
    const app = frames.filter((f) => f.type === 'echo' || f.type === 'chat');
    const control = frames.filter((f) => f.type === 'auth' || f.type === 'ping');
    expect(app).toHaveLength(2);
    for (const f of app) {
      expect(f.csrf).toBe(authOk.csrfToken);
      expect(typeof f.id).toBe('string');
    }
    expect(control.some((f) => f.type === 'ping')).toBe(true);
    for (const f of control) expect(f).not.toHaveProperty('csrf');
    expect(socket.latencyMs).toBeGreaterThanOrEqual(0);
  });

  it('rejects with a typed ServerError for each server error code, and keeps serving', async () => {
    srv = await startServer({ messages, handlers: handlers() });
    const received: string[] = [];
    const socket = client({
      url: srv.url,
      authToken: await signToken('dave'),
      WebSocket: tappedWebSocket([], received),
    });
    const invalid = await outcome(socket.send({ type: 'chat', payload: { text: '' } }));
    const unknown = await outcome(socket.send({ type: 'nope', payload: {} }));
    const boom = await outcome(socket.send({ type: 'boom', payload: {} }));
    for (const [o, code, maybeHandled] of [
      [invalid, 'WSG_VALIDATION_FAILED', false],
      [unknown, 'WSG_UNKNOWN_TYPE', false],
      [boom, 'WSG_INTERNAL', true],
    ] as const) {
      expect(o.ok).toBe(false);
      if (o.ok) continue;
      expect(o.error).toBeInstanceOf(ServerError);
      expect(o.error).toMatchObject({ code, maybeHandled });
    }
    assertNoLeak(received);
    await expect(socket.send({ type: 'chat', payload: { text: 'fine' } })).resolves.toEqual({ ok: true });
    expect(socket.state).toBe('open');
  });

  it('refuses bad messages locally with InvalidMessageError, before anything is sent', async () => {
    srv = await startServer({ messages, handlers: handlers(), maxPayload: 1024 });
    const socket = client({ url: srv.url, authToken: await signToken('erin') });
    await reachState(socket, 'open');
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    const cases = [
      socket.send({ type: 'auth', payload: {} }),
      socket.send({ type: '1bad', payload: {} }),
      socket.send({ type: 'echo', payload: cyclic }),
      socket.send({ type: 'echo', payload: () => 1 }),
      socket.send({ type: 'echo', payload: 'x'.repeat(2000) }),
    ];
    const results = await Promise.all(cases.map(outcome));
    expect(results.map((r) => (r.ok ? 'ok' : (r.error as InvalidMessageError).reason))).toEqual([
      'type',
      'type',
      'payload',
      'payload',
      'too-large',
    ]);
    for (const r of results) if (!r.ok) expect(r.error).toBeInstanceOf(InvalidMessageError);
    await expect(socket.send({ type: 'echo', payload: 'small' })).resolves.toBe('small');
  });

  it('delivers application events to on(type), onMessage and the message event; unsubscribe works', async () => {
    srv = await startServer({ messages, handlers: handlers() });
    const viaOption: unknown[] = [];
    type In = { shouted: { text: string } };
    const socket = new SecureWebSocket<{ shout: { payload: { text: string } } }, In>({
      url: srv.url,
      authToken: await signToken('frank'),
      onMessage: (m) => viaOption.push(m),
    });
    sockets.push(socket);
    const viaOn: string[] = [];
    const off = socket.on('shouted', (payload) => viaOn.push(payload.text));
    const viaEvent = nextEvent(socket, 'message');
    await socket.send({ type: 'shout', payload: { text: 'one' } });
    expect(await viaEvent).toEqual({ type: 'shouted', payload: { text: 'one' } });
    off();
    await socket.send({ type: 'shout', payload: { text: 'two' } });
    await expect.poll(() => viaOption.length).toBe(2);
    expect(viaOn).toEqual(['one']);
  });

  it('reports a throwing listener as an error event and keeps working', async () => {
    srv = await startServer({ messages, handlers: handlers() });
    const socket = client({
      url: srv.url,
      authToken: await signToken('gina'),
      onMessage: () => {
        throw new Error('app bug');
      },
    });
    const error = nextEvent(socket, 'error');
    await socket.send({ type: 'shout', payload: { text: 'x' } });
    expect((await error).message).toMatch(/onMessage listener threw/);
    await expect(socket.send({ type: 'echo', payload: 2 })).resolves.toBe(2);
  });

  it('when getToken() fails: reports an AuthError, retries with backoff, and gets in once it works', async () => {
    srv = await startServer({ messages, handlers: handlers() });
    const good = await signToken('lou');
    let calls = 0;
    const socket = client({
      url: srv.url,
      getToken: () => {
        if (++calls === 1) throw new Error('token endpoint down');
        return good;
      },
      reconnect: { minDelayMs: 10, maxDelayMs: 20 },
    });
    const error = nextEvent(socket, 'error');
    const close = nextEvent(socket, 'close');
    const sent = socket.send({ type: 'echo', payload: 'queued meanwhile' });
    expect(await error).toMatchObject({ name: 'AuthError', message: 'getToken() failed' });
    expect(await close).toMatchObject({ cause: 'token', code: 1006, willReconnect: true });
    await expect(sent).resolves.toBe('queued meanwhile');
    expect(calls).toBe(2);
  });

  it('rejects with AckTimeoutError (maybeHandled) when no ack comes in time', async () => {
    srv = await startServer({ messages, handlers: handlers() });
    const socket = client({ url: srv.url, authToken: await signToken('hank'), ackTimeoutMs: 150 });
    const o = await outcome(socket.send({ type: 'hang', payload: null }));
    expect(o.ok).toBe(false);
    if (!o.ok) {
      expect(o.error).toBeInstanceOf(AckTimeoutError);
      expect(o.error).toMatchObject({ maybeHandled: true, timeoutMs: 150 });
    }
    await expect(socket.send({ type: 'echo', payload: 3 })).resolves.toBe(3);
  });

  it('after the server kills its side of the socket: reconnects, re-auths with a fresh getToken(), flushes the queue in order', async () => {
    const log: { type: string; payload: unknown }[] = [];
    const tokensSeen: string[] = [];
    const jwt = createJwtVerifier({ secret: TEST_SECRET });
    srv = await startServer({
      messages,
      handlers: handlers(log),
      auth: {
        verify: (t) => {
          tokensSeen.push(t);
          return jwt(t);
        },
      },
    });
    let calls = 0;
    const socket = client({
      url: srv.url,
      getToken: () => signToken('ivy', { n: ++calls }),
      reconnect: { minDelayMs: 100, maxDelayMs: 200 },
    });
    await reachState(socket, 'open');
    expect(calls).toBe(1);
    const queued: Promise<unknown>[] = [];
    const reconnecting = new Promise<void>((resolve) => {
      const off = socket.addEventListener('stateChange', (e) => {
        if (e.to !== 'reconnecting') return;
        off();
        for (let i = 0; i < 5; i++) queued.push(socket.send({ type: 'echo', payload: { i } }));
        resolve();
      });
    });
    const closeEvent = nextEvent(socket, 'close');
    for (const s of srv.sockets) s.destroy();
    await reconnecting;
    expect(await closeEvent).toMatchObject({ code: 1006, cause: 'network', willReconnect: true });
    expect(socket.queueSize).toBe(5);
    const reopened = await nextEvent(socket, 'open');
    expect(reopened.reconnected).toBe(true);
    expect(await Promise.all(queued)).toEqual([0, 1, 2, 3, 4].map((i) => ({ i })));
    expect(log.map((l) => l.payload)).toEqual([0, 1, 2, 3, 4].map((i) => ({ i })));
    expect(calls).toBe(2);
    expect(tokensSeen).toHaveLength(2);
    expect(tokensSeen[0]).not.toBe(tokensSeen[1]);
    expect(socket.queueSize).toBe(0);
  });

  it('resends an unacked message with the same id after a reconnect; the server handles it once', async () => {
    let handled = 0;
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const sentIds: string[] = [];
    srv = await startServer({
      messages: { slow: z.unknown() },
      handlers: {
        slow: async () => {
          handled++;
          await gate;
          return 'done';
        },
      },
    });
    const socket = client({
      url: srv.url,
      getToken: () => signToken('jack'),
      reconnect: { minDelayMs: 20, maxDelayMs: 50 },
      WebSocket: tappedWebSocket(sentIds, []),
    });
    await reachState(socket, 'open');
    const result = outcome(socket.send({ type: 'slow', payload: null }));
    await expect.poll(() => handled).toBe(1);
    for (const s of srv.sockets) s.destroy(); // the ack is lost with the socket
    await nextEvent(socket, 'open');
    release();
    expect(await result).toEqual({ ok: true, value: 'done' });
    expect(handled).toBe(1);
    const ids = sentIds
      .map((f) => JSON.parse(f))
      .filter((f) => f.type === 'slow')
      .map((f) => f.id);
    expect(ids).toHaveLength(2);
    expect(ids[0]).toBe(ids[1]);
  });

  it('close() rejects unacked messages (maybe handled) and later sends (not handled) with ClosedError', async () => {
    srv = await startServer({ messages, handlers: handlers() });
    const socket = client({ url: srv.url, authToken: await signToken('kim') });
    await reachState(socket, 'open');
    const unacked = outcome(socket.send({ type: 'hang', payload: null }));
    socket.close();
    const queuedAfter = await outcome(socket.send({ type: 'echo', payload: 1 }));
    const u = await unacked;
    expect(u.ok || u.error).toBeInstanceOf(ClosedError);
    expect(u.ok || u.error).toMatchObject({ maybeHandled: true });
    expect(queuedAfter.ok || queuedAfter.error).toBeInstanceOf(ClosedError);
    expect(queuedAfter.ok || queuedAfter.error).toMatchObject({ maybeHandled: false });
    // The server still serves another client afterwards.
    const { peer, csrf } = await connectAuthed(srv.url, await signToken('kim2'));
    peer.send({ id: 'x', type: 'echo', payload: 5, csrf });
    expect(await peer.next('ack')).toMatchObject({ id: 'x', result: 5 });
    peer.close();
  });

  it('fails with a clear TypeError on bad options, and AuthError when the token is refused', async () => {
    expect(() => new SecureWebSocket({ url: 'ws://x/ws' } as SecureWebSocketOptions)).toThrow(
      /authToken or getToken/,
    );
    expect(() => new SecureWebSocket({ url: 'ftp://x/ws', authToken: 't' })).toThrow(/ws: or wss:/);
    expect(() => new SecureWebSocket({ url: 'ws://x/ws', authToken: '' })).toThrow(/non-empty/);
    expect(
      () =>
        new SecureWebSocket({
          url: 'ws://x/ws',
          authToken: 't',
          queue: { overflow: 'nope' as 'reject-new' },
        }),
    ).toThrow(/overflow/);
    expect(
      () =>
        new SecureWebSocket({
          url: 'ws://x/ws',
          authToken: 't',
          reconnect: { minDelayMs: 10, maxDelayMs: 5 },
        }),
    ).toThrow(/maxDelayMs/);
    srv = await startServer({ messages, handlers: handlers() });
    const socket = client({
      url: srv.url,
      authToken: 'not-a-jwt',
      reconnect: { minDelayMs: 10, maxDelayMs: 20 },
    });
    const error = nextEvent(socket, 'error');
    const pending = outcome(socket.send({ type: 'echo', payload: 1 }));
    expect(await error).toBeInstanceOf(AuthError);
    expect(await error).toMatchObject({ code: 'WSG_AUTH_FAILED' });
    await reachState(socket, 'closed');
    const p = await pending;
    expect(p.ok || p.error).toBeInstanceOf(ClosedError);
    expect(p.ok || (p.error as ClosedError).cause).toBeInstanceOf(AuthError);
  });
});

describe('ping()', () => {
  it('measures a round trip on demand, and refuses when not open', async () => {
    const server = await startServer({});
    const socket = new SecureWebSocket({ url: server.url, authToken: await signToken('pinger') });
    await expect(socket.ping()).rejects.toBeInstanceOf(ClosedError);
    await reachState(socket, 'open');
    const samples = await Promise.all([socket.ping(), socket.ping(), socket.ping()]);
    for (const ms of samples) expect(ms).toBeGreaterThanOrEqual(0);
    socket.close();
    await server.close();
  });
});

describe('SecureWebSocket while the server is down (connections refused)', () => {
  it.each(['message', 'protocol'] as const)(
    "authTransport '%s': a refused connect spends no token, so after 30 refused dials the client connects as soon as the server listens",
    async (authTransport) => {
      const port = await freePort();
      let calls = 0;
      const client = new SecureWebSocket({
        url: `ws://127.0.0.1:${port}/ws`,
        authTransport,
        getToken: () => {
          calls++;
          return signToken('down-user');
        },
        reconnect: { minDelayMs: 1, maxDelayMs: 5 },
      });
      sockets.push(client);
      let refused = 0;
      client.addEventListener('close', (e) => {
        if (e.willReconnect && e.cause === 'network') refused++;
      });
      // More refused dials than getToken() may be called in a minute (12): before, the 13th
      // dial waited for the oldest call to be a minute old, whatever the server did meanwhile.
      await expect.poll(() => refused, { timeout: 10_000 }).toBeGreaterThanOrEqual(30);
      expect(calls).toBe(1);
      srv = await startServer({}, { port });
      await reachState(client, 'open');
      // The token that never left the client is the one that authenticated.
      expect(calls).toBe(1);
      expect(client.state).toBe('open');
    },
  );
});
