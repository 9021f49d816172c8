import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { type DialHandlers, dial } from '../../src/client/dial.js';
import type { ConnectionError } from '../../src/client/errors.js';
import { createTokenSource } from '../../src/client/token-source.js';
import type { Transport, TransportClose, WebSocketConstructor } from '../../src/client/transport.js';
import { freePort } from '../helpers/process.js';
import { type MinimalServer, startMinimalProtocolServer } from './minimal-protocol-server.js';

let stub: MinimalServer | undefined;
afterEach(async () => {
  await stub?.close();
  stub = undefined;
});

const Ws = WebSocket as unknown as WebSocketConstructor;

/** Runs one attempt and records what it reports. */
function attempt(
  url: string,
  authTransport: 'message' | 'protocol',
  getToken: () => string | Promise<string> = () => 'token-1',
  current: () => boolean = () => true,
) {
  const seen: string[] = [];
  let transport: Transport | undefined;
  const closed: TransportClose[] = [];
  const problems: Error[] = [];
  const handlers: DialHandlers = {
    current,
    token: (t) => seen.push(`token:${t}`),
    attached: (t) => {
      transport = t;
      seen.push('attached');
    },
    opened: () => seen.push('opened'),
    message: (text) => seen.push(`message:${text}`),
    closed: (info) => closed.push(info),
    noToken: (error) => problems.push(error),
    fatal: (error: ConnectionError) => problems.push(error),
  };
  const tokens = createTokenSource({
    authToken: undefined,
    getToken,
    inProtocol: authTransport === 'protocol',
  });
  const done = dial({ url, authTransport, WebSocket: Ws, tokens, log: () => {} }, handlers);
  return { done, seen, closed, problems, transport: () => transport };
}

describe('dial', () => {
  it("authTransport 'message': wsguard subprotocol only, then the auth frame as soon as the socket opens", async () => {
    stub = await startMinimalProtocolServer(async (conn) => {
      await conn.authenticate();
    });
    const a = attempt(stub.url, 'message');
    await a.done;
    expect(a.seen).toEqual(['token:token-1', 'attached']);
    await expect.poll(() => a.seen.some((s) => s.startsWith('message:'))).toBe(true);
    const conn = stub.connections[0];
    expect(conn?.req.headers['sec-websocket-protocol']).toBe('wsguard.v1');
    expect(conn?.received[0]).toEqual({ type: 'auth', token: 'token-1' });
    expect(a.seen[2]).toBe('opened');
    a.transport()?.close(1000, '');
  });

  it("authTransport 'protocol': the token travels as a subprotocol and no auth frame is sent", async () => {
    stub = await startMinimalProtocolServer(() => {});
    const a = attempt(stub.url, 'protocol');
    await a.done;
    await expect.poll(() => a.seen.includes('opened')).toBe(true);
    const conn = stub.connections[0];
    expect(conn?.req.headers['sec-websocket-protocol']).toBe('wsguard.v1,wsguard.bearer.token-1');
    // Frames arrive in order: if an auth frame had gone out at open, it would come before the probe.
    a.transport()?.send('{"type":"probe"}');
    expect(await conn?.next()).toEqual({ type: 'probe' });
    a.transport()?.abandon();
  });

  it('reports a failing getToken as noToken, and a URL the WebSocket refuses as fatal', async () => {
    const noToken = attempt('ws://127.0.0.1:9/ws', 'message', () => {
      throw new Error('no login');
    });
    await noToken.done;
    expect(noToken.problems.map((e) => e.name)).toEqual(['AuthError']);
    expect(noToken.seen).toEqual([]);
    const fatal = attempt('not a url', 'message');
    await fatal.done;
    expect(fatal.problems.map((e) => [e.name, e.message])).toEqual([
      ['ConnectionError', 'cannot open the WebSocket'],
    ]);
  });

  it('does nothing once the attempt is no longer current', async () => {
    stub = await startMinimalProtocolServer(() => {});
    const a = attempt(
      stub.url,
      'message',
      () => 'token-1',
      () => false,
    );
    await a.done;
    expect([a.seen, a.problems, stub.upgradesAt]).toEqual([[], [], []]);
  });
});

describe('dial: a token that never left the client is used again', () => {
  /** Two attempts in a row on one token source; the tokens each authenticated with. */
  async function twoAttempts(url: string, authTransport: 'message' | 'protocol') {
    let calls = 0;
    const tokens = createTokenSource({
      authToken: undefined,
      getToken: () => `token-${++calls}`,
      inProtocol: authTransport === 'protocol',
    });
    const used: string[] = [];
    for (let i = 0; i < 2; i++) {
      await new Promise<void>((resolve) => {
        void dial(
          { url, authTransport, WebSocket: Ws, tokens, log: () => {} },
          {
            current: () => true,
            token: (t) => used.push(t),
            attached: () => {},
            opened: () => {},
            message: () => {},
            closed: () => resolve(),
            noToken: () => resolve(),
            fatal: () => resolve(),
          },
        );
      });
    }
    return used;
  }

  it('connection refused: the same token for the next attempt, in both transports', async () => {
    const url = `ws://127.0.0.1:${await freePort()}/ws`;
    expect(await twoAttempts(url, 'message')).toEqual(['token-1', 'token-1']);
    expect(await twoAttempts(url, 'protocol')).toEqual(['token-1', 'token-1']);
  });

  it("upgrade refused: kept with 'message' (the token was not sent), a new one with 'protocol' or after a 401", async () => {
    let status = 503;
    stub = await startMinimalProtocolServer(() => {}, { refuseUpgrade: () => ({ status }) });
    expect(await twoAttempts(stub.url, 'message')).toEqual(['token-1', 'token-1']);
    // The upgrade request carried the token: the server saw it.
    expect(await twoAttempts(stub.url, 'protocol')).toEqual(['token-1', 'token-2']);
    status = 401;
    expect(await twoAttempts(stub.url, 'message')).toEqual(['token-1', 'token-2']);
  });

  it('an attempt that opened spent its token', async () => {
    stub = await startMinimalProtocolServer(async (conn) => {
      await conn.authenticate();
      conn.ws.close(1011, '');
    });
    expect(await twoAttempts(stub.url, 'message')).toEqual(['token-1', 'token-2']);
  });
});
