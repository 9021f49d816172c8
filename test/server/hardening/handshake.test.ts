import { jwtVerify } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { assertNoLeak } from '../../helpers/peer.js';
import {
  encodeFrame,
  type HandshakeOptions,
  Op,
  rawConnect,
  rawHandshake,
  upgradeRequest,
} from '../../helpers/raw-socket.js';
import { expectStillServing } from '../../helpers/served.js';
import { signToken, startServer, TEST_SECRET, type TestServer } from '../../helpers/server.js';

// Upgrade-request attacks over raw TCP: each gets the right HTTP status, costs no token check
// when the handshake itself is malformed, and leaves the server serving.

let srv: TestServer | undefined;
afterEach(async () => {
  await srv?.close();
  srv = undefined;
});

let verified = 0;
const echo = {
  limits: false as const,
  anomaly: false as const,
  messages: { echo: z.unknown() },
  handlers: { echo: (_c: unknown, p: unknown) => p },
  // Counts token checks, so a test can see a malformed handshake was refused before one.
  auth: {
    verify: async (token: string) => {
      verified++;
      try {
        const { payload } = await jwtVerify(token, new TextEncoder().encode(TEST_SECRET));
        return { id: String(payload.sub) };
      } catch {
        return null;
      }
    },
  },
};

async function answer(options: HandshakeOptions) {
  const s = srv as TestServer;
  const { raw, answer: a } = await rawHandshake(s.port, options);
  raw.destroy();
  assertNoLeak([a.body]);
  return a;
}

const WSG_BAD_REQUEST = JSON.stringify({ error: 'WSG_BAD_REQUEST' });

describe('upgrade-request attacks', () => {
  it('HTTP/1.0 and HTTP/0.9-style versions are refused 400 before the token is checked (regression)', async () => {
    srv = await startServer(echo);
    const token = await signToken('mallory');
    const before = verified;
    for (const httpVersion of ['1.0', '0.9']) {
      const a = await answer({ httpVersion, headers: { Authorization: `Bearer ${token}` } });
      expect(a.status).toBe(400);
      expect(a.body).toBe(WSG_BAD_REQUEST);
    }
    expect(verified).toBe(before);
    await expectStillServing(srv.url);
  });

  it.each(['POST', 'PUT', 'OPTIONS', 'DELETE'])(
    'a %s upgrade is refused 400 WSG_BAD_REQUEST',
    async (method) => {
      srv = await startServer(echo);
      const a = await answer({ method, headers: { Authorization: `Bearer ${await signToken('mallory')}` } });
      expect(a.status).toBe(400);
      expect(a.body).toBe(WSG_BAD_REQUEST);
      await expectStillServing(srv.url);
    },
  );

  it('Upgrade: websocketa (and other near misses) is refused 400 before the token is checked (regression)', async () => {
    srv = await startServer(echo);
    const token = await signToken('mallory');
    const before = verified;
    for (const upgrade of ['websocketa', 'websocket2', 'web socket', 'h2c', 'websocket, h2c']) {
      const a = await answer({ headers: { Upgrade: upgrade, Authorization: `Bearer ${token}` } });
      expect(a.status, upgrade).toBe(400);
      expect(a.body).toBe(WSG_BAD_REQUEST);
    }
    expect(verified).toBe(before);
    // The upgrade token is case-insensitive (RFC 7230 6.7).
    expect((await answer({ headers: { Upgrade: 'WebSocket' } })).status).toBe(101);
    await expectStillServing(srv.url);
  });

  it('a bad Sec-WebSocket-Version is 400 naming the versions served; 13 is accepted', async () => {
    srv = await startServer(echo);
    for (const version of ['12', '14', '0', 'abc', '', undefined]) {
      const a = await answer({ headers: { 'Sec-WebSocket-Version': version } });
      expect(a.status, String(version)).toBe(400);
      expect(a.headers['sec-websocket-version']).toBe('13, 8');
    }
    expect((await answer({})).status).toBe(101);
    await expectStillServing(srv.url);
  });

  it('a missing or malformed Sec-WebSocket-Key is 400', async () => {
    srv = await startServer(echo);
    for (const key of [undefined, 'short', 'dGhlIHNhbXBsZSBub25jZQ', `${'A'.repeat(40)}==`]) {
      expect((await answer({ headers: { 'Sec-WebSocket-Key': key } })).status, String(key)).toBe(400);
    }
    await expectStillServing(srv.url);
  });

  it('2,000 headers: a clean 101 or 431 whatever Node does with the count, long ones are 431, 500 are served', async () => {
    srv = await startServer(echo);
    // Node 20 keeps the first 1000 and drops the rest; Node 22 refuses the request 431. Both are
    // a clean HTTP answer from a server that goes on serving.
    const short = Array.from({ length: 2000 }, (_, i) => `X-H${i}: v`);
    expect([101, 431]).toContain((await answer({ extraLines: short })).status);
    const long = Array.from({ length: 2000 }, (_, i) => `X-H${i}: ${'v'.repeat(50)}`);
    expect((await answer({ extraLines: long })).status).toBe(431);
    // Well inside both versions' bounds: many headers are no reason to refuse an upgrade.
    const some = Array.from({ length: 500 }, (_, i) => `X-H${i}: v`);
    expect((await answer({ extraLines: some })).status).toBe(101);
    await expectStillServing(srv.url);
  });

  it('Sec-WebSocket-Protocol of 66,000 spaces is 400 (empty once trimmed) (regression); with a name inside, 431', async () => {
    srv = await startServer(echo);
    const spaces = ' '.repeat(66_000);
    const a = await answer({ headers: { 'Sec-WebSocket-Protocol': spaces } });
    expect(a.status).toBe(400);
    expect(a.body).toBe(WSG_BAD_REQUEST);
    expect((await answer({ headers: { 'Sec-WebSocket-Protocol': `a,${spaces}b` } })).status).toBe(431);
    // Spaces that fit Node's header limit reach the gate's own length cap.
    const mid = await answer({ headers: { 'Sec-WebSocket-Protocol': `a,${' '.repeat(10_000)}b` } });
    expect(mid.status).toBe(400);
    expect(mid.body).toBe(WSG_BAD_REQUEST);
    await expectStillServing(srv.url);
  });

  it('Sec-WebSocket-Extensions with a long \\c run (ReDoS shape) is answered 400/431 and costs nothing lasting', async () => {
    srv = await startServer({ ...echo, perMessageDeflate: true });
    for (const n of [1000, 5000, 30_000]) {
      const a = await answer({
        headers: { 'Sec-WebSocket-Extensions': `permessage-deflate; x="${'\\c'.repeat(n)}` },
      });
      // Short enough for the gate: ws's parser refuses it; past 4096 characters the gate does;
      // past 16 KiB Node does.
      expect(a.status, String(n)).toBe(n === 30_000 ? 431 : 400);
    }
    // A plain permessage-deflate offer still negotiates.
    const ok = await answer({
      headers: { 'Sec-WebSocket-Extensions': 'permessage-deflate; client_max_window_bits' },
    });
    expect(ok.status).toBe(101);
    expect(ok.headers['sec-websocket-extensions']).toMatch(/^permessage-deflate/);
    await expectStillServing(srv.url);
  });

  it('an auth frame pipelined in the same packet as the handshake is not lost while the gate decides', async () => {
    srv = await startServer(echo);
    const raw = await rawConnect(srv.port);
    const auth = encodeFrame({
      opcode: Op.text,
      payload: JSON.stringify({ type: 'auth', token: await signToken('eager') }),
    });
    await raw.write(Buffer.concat([Buffer.from(upgradeRequest(srv.port)), auth]));
    expect((await raw.http()).status).toBe(101);
    expect(JSON.parse((await raw.nextFrame()).payload.toString())).toMatchObject({ type: 'auth_ok' });
    raw.destroy();
  });

  it('slow headers (one byte at a time) are cut off by the server headers timeout with 408', async () => {
    // Node's headersTimeout bounds the request before wsguard sees it; small here for the test.
    srv = await startServer(echo, {
      http: { headersTimeout: 500, requestTimeout: 1000, connectionsCheckingInterval: 100 },
    });
    const raw = await rawConnect(srv.port);
    const request = upgradeRequest(srv.port);
    let sent = 0;
    let closed = false;
    void raw.ended.then(() => {
      closed = true;
    });
    // Far more than the timeout at this pace; the loop ends as soon as the server closes.
    for (; sent < request.length - 4 && !closed; sent++) {
      await raw.write(request[sent] as string).catch(() => {});
      await new Promise((r) => setTimeout(r, 100));
    }
    await raw.ended;
    expect(sent).toBeLessThan(request.length - 4);
    expect((await raw.http()).status).toBe(408);
    await expectStillServing(srv.url);
  });
});
