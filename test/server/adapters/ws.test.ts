import { connect as netConnect } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { connectAuthed } from '../../helpers/peer.js';
import { expectStillServing } from '../../helpers/served.js';
import { signToken, startServer, type TestServer } from '../../helpers/server.js';

let srv: TestServer | undefined;
afterEach(async () => {
  await srv?.close();
  srv = undefined;
});

// The adapter corks the TCP socket to batch small replies into one write. Large output must
// not wait for the uncork: held back, it would count against the backpressure limits (4 MiB by
// default) as if the client were reading slowly.
describe('ws adapter: batching replies', () => {
  it.each([
    ['in one synchronous run', false],
    ['with awaits between sends', true],
  ])('a handler sending 6 MB %s reaches a reading client whole', async (_name, awaits) => {
    const chunk = 'x'.repeat(60_000);
    srv = await startServer({
      messages: { dump: z.unknown() },
      handlers: {
        dump: async (ctx) => {
          for (let i = 0; i < 100; i++) {
            ctx.send('part', { i, chunk });
            if (awaits) await Promise.resolve();
          }
          return 'done';
        },
      },
    });
    const { peer, csrf } = await connectAuthed(srv.url, await signToken('reader'));
    peer.send({ id: 'd', type: 'dump', payload: null, csrf });
    expect(await peer.next('ack', 15_000)).toEqual({ type: 'ack', id: 'd', result: 'done' });
    await vi.waitFor(() =>
      expect(peer.frames.filter((f) => f.startsWith('{"type":"part"')).length).toBe(100),
    );
    expect(peer.ws.readyState).toBe(peer.ws.OPEN);
    peer.close();
  });
});

// A refused upgrade is answered and the server's socket closed, whatever the peer does: one
// that ignores the answer and never sends its FIN must not hold a server socket.
describe('ws adapter: refused upgrades', () => {
  const upgrade = (headers: string) =>
    `GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n${headers}\r\n`;

  it.each([
    ['a forbidden Origin (403)', 'Origin: https://evil.example\r\n', 403],
    ['a bad token (401)', 'Authorization: Bearer not-a-token\r\n', 401],
  ])('closes the server side for %s when the peer never closes its own', async (_name, headers, status) => {
    srv = await startServer();
    const server = srv;
    // allowHalfOpen: the peer does not answer the server's FIN with its own, like a careless client.
    const peer = netConnect({ host: '127.0.0.1', port: server.port, allowHalfOpen: true });
    await new Promise<void>((resolve) => peer.once('connect', () => resolve()));
    let answer = '';
    peer.on('data', (d: Buffer) => {
      answer += d.toString('latin1');
    });
    peer.on('error', () => {});
    peer.write(upgrade(headers));
    await vi.waitFor(() => expect(answer).toMatch(new RegExp(`^HTTP/1\\.1 ${status} `)));
    expect(answer).not.toMatch(/stack|Error:|at \//);
    await vi.waitFor(() => expect(server.sockets.size).toBe(0), { timeout: 1000 });
    expect(peer.destroyed).toBe(false);
    peer.destroy();
    await expectStillServing(server.url, { echo: false });
  });
});

// A frame the adapter writes itself (one buffer, no writev) must be the frame ws would send:
// every length encoding, multi-byte UTF-8, and with compression negotiated ws sends it.
describe('ws adapter: frames written as one buffer', () => {
  it.each([
    ['without compression', false],
    ['with permessage-deflate', true],
  ])('%s, payloads of every header size arrive whole and in order', async (_name, deflate) => {
    const sizes = [0, 1, 100, 125, 126, 1000, 65_535, 65_536, 200_000];
    srv = await startServer({
      perMessageDeflate: deflate,
      messages: { sized: z.number(), echo: z.unknown() },
      handlers: {
        echo: (_ctx, p) => p,
        sized: (ctx, n) => {
          ctx.send('text', `é€${'x'.repeat(n)}😀`);
          return n;
        },
      },
    });
    const { peer, csrf } = await connectAuthed(srv.url, await signToken('frames'), {
      perMessageDeflate: deflate,
    });
    for (const n of sizes) peer.send({ id: `s${n}`, type: 'sized', payload: n, csrf });
    for (const n of sizes)
      expect(await peer.next('ack', 15_000)).toEqual({ type: 'ack', id: `s${n}`, result: n });
    const texts = peer.frames
      .filter((f) => f.startsWith('{"type":"text"'))
      .map((f) => (JSON.parse(f) as { payload: string }).payload);
    expect(texts).toEqual(sizes.map((n) => `é€${'x'.repeat(n)}😀`));
    await expectStillServing(srv.url);
  });
});
