import { createServer } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { setupWebSockets } from '../../../src/server/index.js';
import { assertNoLeak } from '../../helpers/peer.js';
import { type HandshakeOptions, rawHandshake } from '../../helpers/raw-socket.js';
import { expectStillServing } from '../../helpers/served.js';
import { startServer, TEST_SECRET, type TestServer } from '../../helpers/server.js';

const echo = { messages: { echo: z.unknown() }, handlers: { echo: (_c: unknown, p: unknown) => p } };

let srv: TestServer | undefined;
afterEach(async () => {
  await srv?.close();
  srv = undefined;
});

async function status(options: HandshakeOptions): Promise<number> {
  const { raw, answer } = await rawHandshake((srv as TestServer).port, options);
  raw.destroy();
  assertNoLeak([answer.body]);
  return answer.status;
}

/** Runs `fn` with NODE_ENV=production (the guard reads it at setup). */
async function inProduction<T>(fn: () => Promise<T>): Promise<T> {
  const before = process.env.NODE_ENV;
  process.env.NODE_ENV = 'production';
  try {
    return await fn();
  } finally {
    process.env.NODE_ENV = before;
  }
}

describe('Origin and Host', () => {
  it('allowedHosts refuses a DNS-rebinding upgrade whose Host and Origin are both the attacker’s', async () => {
    srv = await startServer({ ...echo, allowedHosts: ['127.0.0.1'] });
    const evil = `rebind.evil.example:${srv.port}`;
    expect(await status({ headers: { Host: evil, Origin: `http://${evil}` } })).toBe(403);
    expect(await status({ headers: { Host: evil } })).toBe(403);
    const own = `127.0.0.1:${srv.port}`;
    expect(await status({ headers: { Host: own, Origin: `http://${own}` } })).toBe(101);
    await expectStillServing(srv.url);
  });

  it('in production allowedHosts defaults to the hosts of allowedOrigins, and one of them is required', async () => {
    srv = await inProduction(() =>
      startServer({ ...echo, requireTls: false, allowedOrigins: ['http://app.example'] }),
    );
    expect(await status({ headers: { Host: 'evil.example', Origin: 'http://evil.example' } })).toBe(403);
    expect(await status({ headers: { Host: 'evil.example', Origin: 'http://app.example' } })).toBe(403);
    expect(await status({ headers: { Host: 'app.example', Origin: 'http://app.example' } })).toBe(101);
    await inProduction(async () => {
      expect(() =>
        setupWebSockets(createServer(), {
          auth: { jwt: { secret: TEST_SECRET } },
          logger: false,
        }),
      ).toThrow(/allowedHosts/);
    });
  });

  it('compares the scheme when it is known: a trusted proxy saying https refuses an http:// origin', async () => {
    srv = await startServer({ ...echo, trustProxy: ['127.0.0.1'] });
    const host = `127.0.0.1:${srv.port}`;
    const https = { 'X-Forwarded-Proto': 'https', Host: host };
    expect(await status({ headers: { ...https, Origin: `http://${host}` } })).toBe(403);
    expect(await status({ headers: { ...https, Origin: `https://${host}` } })).toBe(101);
    // Unknown scheme (no TLS, no trusted header): the host alone decides, as before.
    expect(await status({ headers: { Host: host, Origin: `http://${host}` } })).toBe(101);
    await expectStillServing(srv.url);
  });

  it('refuses handshake version 8 (its Sec-WebSocket-Origin is not checked) with 400 before any token check', async () => {
    srv = await startServer(echo);
    for (const version of ['8', '08', '0x8', '13.0']) {
      const a = await status({
        headers: { 'Sec-WebSocket-Version': version, 'Sec-WebSocket-Origin': 'http://evil.example' },
      });
      expect(a, version).toBe(400);
    }
    await expectStillServing(srv.url);
  });
});
