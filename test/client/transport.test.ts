import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { z } from 'zod';
import { ConnectionError, SecureWebSocket, type WebSocketConstructor } from '../../src/client/index.js';
import { openTransport, resolveWebSocket, type TransportClose } from '../../src/client/transport.js';
import { SUBPROTOCOL } from '../../src/protocol/index.js';
import { reachState } from '../helpers/client.js';
import { signToken, startServer, type TestServer } from '../helpers/server.js';
import { type MinimalServer, startMinimalProtocolServer } from './minimal-protocol-server.js';

let srv: TestServer | undefined;
let stub: MinimalServer | undefined;
afterEach(async () => {
  delete (globalThis as { WebSocket?: unknown }).WebSocket;
  await srv?.close();
  await stub?.close();
  srv = stub = undefined;
});

/** A real `ws` WebSocket that counts how often it is constructed. */
function counting() {
  const made: string[] = [];
  class Counted extends WebSocket {
    constructor(url: string, protocols?: string | string[]) {
      super(url, protocols);
      made.push(url);
    }
  }
  return { Counted, made };
}

/** What the client runs on: the runtime's real global WebSocket (Node >= 22) if any. */
const runtimeGlobal = (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;

const wsMissing = () => Promise.reject(new Error("Cannot find package 'ws'"));

describe('choosing the WebSocket implementation', () => {
  it('in Node loads the ws package lazily, whether or not there is a global WebSocket', async () => {
    expect(await resolveWebSocket(undefined)).toBe(WebSocket);
    (globalThis as { WebSocket?: unknown }).WebSocket = counting().Counted;
    expect(await resolveWebSocket(undefined)).toBe(WebSocket);
  });

  it('prefers an injected WebSocket, then ws over a global one in Node', async () => {
    srv = await startServer({ messages: { echo: z.unknown() }, handlers: { echo: (_c, p) => p } });
    const injected = counting();
    const global = counting();
    (globalThis as { WebSocket?: unknown }).WebSocket = global.Counted;
    const a = new SecureWebSocket({
      url: srv.url,
      authToken: await signToken('a'),
      WebSocket: injected.Counted,
    });
    await expect(a.send({ type: 'echo', payload: 1 })).resolves.toBe(1);
    const b = new SecureWebSocket({ url: srv.url, authToken: await signToken('b') });
    await expect(b.send({ type: 'echo', payload: 2 })).resolves.toBe(2);
    // b went through ws itself: neither look-alike was constructed for it.
    expect([injected.made.length, global.made.length]).toEqual([1, 0]);
    a.close();
    b.close();
  });

  it('in Node without ws, falls back to the global WebSocket and says so in the debug log', async () => {
    const global = counting().Counted as unknown as WebSocketConstructor;
    const log: string[] = [];
    const env = { node: true, global, loadWs: wsMissing };
    expect(await resolveWebSocket(undefined, (m) => log.push(m), env)).toBe(global);
    expect(log).toEqual([expect.stringContaining('ws not installed: using the global WebSocket')]);
  });

  it('the fallback carries a real session: the runtime global (Node >= 22, else ws as its stand-in)', async () => {
    srv = await startServer({ messages: { echo: z.unknown() }, handlers: { echo: (_c, p) => p } });
    const global = runtimeGlobal ?? (WebSocket as unknown as WebSocketConstructor);
    const Ctor = await resolveWebSocket(undefined, undefined, { node: true, global, loadWs: wsMissing });
    expect(Ctor).toBe(global);
    const socket = new SecureWebSocket({ url: srv.url, authToken: await signToken('g'), WebSocket: Ctor });
    await expect(socket.send({ type: 'echo', payload: { via: 'global' } })).resolves.toEqual({
      via: 'global',
    });
    socket.close();
  });

  it('in a browser takes the global WebSocket without trying ws', async () => {
    const global = counting().Counted as unknown as WebSocketConstructor;
    let tried = 0;
    const loadWs = () => {
      tried++;
      return Promise.resolve(WebSocket as unknown as WebSocketConstructor);
    };
    expect(await resolveWebSocket(undefined, undefined, { node: false, global, loadWs })).toBe(global);
    expect(tried).toBe(0);
  });

  it('with neither ws nor a global one: a ConnectionError naming both ways out, with the cause', async () => {
    const err = await resolveWebSocket(undefined, undefined, {
      node: true,
      global: undefined,
      loadWs: wsMissing,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectionError);
    expect((err as Error).message).toBe(
      'no WebSocket implementation: install the ws package or pass the WebSocket option',
    );
    expect(((err as Error).cause as Error).message).toBe("Cannot find package 'ws'");
  });
});

describe('openTransport over a real socket', () => {
  function dial(url: string, protocols: string[]) {
    const closes: TransportClose[] = [];
    const opened: string[] = [];
    const t = openTransport(WebSocket as unknown as WebSocketConstructor, url, protocols, {
      open: (p) => opened.push(p),
      message: () => {},
      close: (info) => closes.push(info),
    });
    return { t, closes, opened };
  }

  it('reports the HTTP status of a refused upgrade (401 for a bad bearer token), as Node allows', async () => {
    srv = await startServer();
    const { closes, opened } = dial(srv.url, [SUBPROTOCOL, 'wsguard.bearer.bad-token']);
    await expect.poll(() => closes.length).toBe(1);
    expect(closes[0]).toMatchObject({ code: 1006, httpStatus: 401 });
    expect(opened).toEqual([]);
  });

  it('reads Retry-After in seconds from a refused upgrade', async () => {
    stub = await startMinimalProtocolServer(() => {}, {
      refuseUpgrade: () => ({ status: 503, headers: { 'Retry-After': '2' } }),
    });
    const { closes } = dial(stub.url, [SUBPROTOCOL]);
    await expect.poll(() => closes.length).toBe(1);
    expect(closes[0]).toMatchObject({ httpStatus: 503, retryAfterMs: 2000 });
  });

  it('abandon() while connecting: no event reaches the handlers and no error escapes', async () => {
    srv = await startServer();
    const { t, closes, opened } = dial(srv.url, [SUBPROTOCOL]);
    t.abandon();
    const after = dial(srv.url, [SUBPROTOCOL]);
    await expect.poll(() => after.opened).toEqual([SUBPROTOCOL]);
    after.t.close(1000, '');
    expect([closes, opened]).toEqual([[], []]);
  });

  it('the server answers wsguard.v1 and never echoes the bearer subprotocol', async () => {
    srv = await startServer();
    const socket = new SecureWebSocket({
      url: srv.url,
      authToken: await signToken('p'),
      authTransport: 'protocol',
    });
    await reachState(socket, 'open');
    const { opened, t } = dial(srv.url, [SUBPROTOCOL, `wsguard.bearer.${await signToken('q')}`]);
    await expect.poll(() => opened).toEqual([SUBPROTOCOL]);
    t.close(1000, '');
    socket.close();
  });
});
