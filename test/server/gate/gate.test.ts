import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { z } from 'zod';
import { setupWebSockets } from '../../../src/server/index.js';
import { assertNoLeak, connect, upgradeStatus } from '../../helpers/peer.js';
import { expectStillServing } from '../../helpers/served.js';
import { signToken, startServer, TEST_SECRET, type TestServer } from '../../helpers/server.js';

const echo = { messages: { echo: z.unknown() }, handlers: { echo: (_c: unknown, p: unknown) => p } };

let srv: TestServer | undefined;
afterEach(async () => {
  await srv?.close();
  srv = undefined;
});

/** Upgrade status for `headers`, checking the JSON body names `code` and leaks nothing. */
async function refused(url: string, headers: Record<string, string>, status: number, code?: string) {
  const r = await upgradeStatus(url, headers);
  expect(r.status).toBe(status);
  if (code) expect(JSON.parse(r.body)).toEqual({ error: code });
  assertNoLeak([r.body]);
  return r;
}

describe('upgrade gate', () => {
  it('answers 404 on another path when it is the only upgrade listener', async () => {
    srv = await startServer(echo);
    await refused(srv.url.replace('/ws', '/other'), {}, 404);
    await expectStillServing(srv.url);
  });

  it('leaves another path to another upgrade listener', async () => {
    srv = await startServer(echo);
    const other = new WebSocketServer({ noServer: true });
    srv.http.on('upgrade', (req, socket, head) => {
      if (req.url === '/other') other.handleUpgrade(req, socket, head, (ws) => ws.send('theirs'));
    });
    const ws = new WebSocket(srv.url.replace('/ws', '/other'));
    expect(await new Promise((r) => ws.once('message', (d: Buffer) => r(d.toString())))).toBe('theirs');
    ws.terminate();
    other.close();
    await expectStillServing(srv.url);
  });

  describe('origin', () => {
    it('with allowedOrigins: exact match passes; unlisted, null and missing are 403', async () => {
      srv = await startServer({ ...echo, allowedOrigins: ['https://app.example.com'] });
      const ok = await upgradeStatus(srv.url, { Origin: 'https://app.example.com' });
      expect(ok.status).toBe(101);
      for (const origin of [
        'https://evil.example.com',
        'https://app.example.com.evil.example',
        'https://evil-app.example.com',
        'http://app.example.com',
        'https://app.example.com:8443',
        'null',
      ]) {
        await refused(srv.url, { Origin: origin }, 403, 'WSG_ORIGIN_FORBIDDEN');
      }
      await refused(srv.url, {}, 403, 'WSG_ORIGIN_FORBIDDEN');
      await expectStillServing(srv.url, { headers: { Origin: 'https://app.example.com' } });
    });

    it('requireOrigin: false lets non-browser clients (no Origin) through next to an allow-list', async () => {
      srv = await startServer({ ...echo, allowedOrigins: ['https://app.example.com'], requireOrigin: false });
      expect((await upgradeStatus(srv.url)).status).toBe(101);
      await refused(srv.url, { Origin: 'https://evil.example.com' }, 403, 'WSG_ORIGIN_FORBIDDEN');
    });

    it('without allowedOrigins: same-origin only; a foreign origin is 403, none is allowed', async () => {
      srv = await startServer(echo);
      const host = `127.0.0.1:${srv.port}`;
      expect((await upgradeStatus(srv.url, { Origin: `http://${host}` })).status).toBe(101);
      expect((await upgradeStatus(srv.url)).status).toBe(101);
      await refused(srv.url, { Origin: 'https://evil.example' }, 403, 'WSG_ORIGIN_FORBIDDEN');
      await refused(srv.url, { Origin: 'null' }, 403, 'WSG_ORIGIN_FORBIDDEN');
      await expectStillServing(srv.url);
    });

    it('requireOrigin: true refuses a missing Origin', async () => {
      srv = await startServer({ ...echo, requireOrigin: true });
      await refused(srv.url, {}, 403, 'WSG_ORIGIN_FORBIDDEN');
    });
  });

  describe('TLS', () => {
    it('requireTls refuses plain upgrades with 426, also with a spoofed X-Forwarded-Proto', async () => {
      srv = await startServer({ ...echo, requireTls: true });
      const r = await refused(srv.url, {}, 426, 'WSG_TLS_REQUIRED');
      expect(r.headers.upgrade).toBe('websocket');
      await refused(srv.url, { 'X-Forwarded-Proto': 'https' }, 426, 'WSG_TLS_REQUIRED');
    });

    it('accepts X-Forwarded-Proto: https from a trusted proxy', async () => {
      srv = await startServer({ ...echo, requireTls: true, trustProxy: ['127.0.0.0/8'] });
      expect((await upgradeStatus(srv.url, { 'X-Forwarded-Proto': 'https' })).status).toBe(101);
      await refused(srv.url, { 'X-Forwarded-Proto': 'http' }, 426, 'WSG_TLS_REQUIRED');
      await expectStillServing(srv.url, { headers: { 'X-Forwarded-Proto': 'https' } });
    });
  });

  describe('token at upgrade', () => {
    it('a bad Authorization: Bearer token is 401; a good one authenticates at once', async () => {
      srv = await startServer(echo);
      await refused(srv.url, { Authorization: 'Bearer not-a-token' }, 401, 'WSG_AUTH_FAILED');
      const peer = await connect(srv.url, { headers: { Authorization: `Bearer ${await signToken('hdr')}` } });
      expect(await peer.next('auth_ok')).toMatchObject({ type: 'auth_ok' });
      peer.close();
      await expectStillServing(srv.url);
    });

    it('a bad wsguard.bearer.<token> subprotocol is 401; a good one answers wsguard.v1, never the token', async () => {
      srv = await startServer(echo);
      await refused(
        srv.url,
        { 'Sec-WebSocket-Protocol': 'wsguard.v1, wsguard.bearer.garbage' },
        401,
        'WSG_AUTH_FAILED',
      );
      const token = await signToken('proto');
      const peer = await connect(srv.url, { protocols: ['wsguard.v1', `wsguard.bearer.${token}`] });
      expect(peer.ws.protocol).toBe('wsguard.v1');
      expect(await peer.next('auth_ok')).toMatchObject({ type: 'auth_ok' });
      peer.close();
    });

    it('ignores ?token= unless allowQueryToken, and never logs it', async () => {
      const token = await signToken('query');
      srv = await startServer(echo);
      const ignored = await connect(`${srv.url}?token=${token}`);
      ignored.send({ id: 'x', type: 'echo', payload: 1 });
      expect(await ignored.closed).toEqual({ code: 4401, reason: 'WSG_AUTH_REQUIRED' });
      await srv.close();

      let log = '';
      const stream = new Writable({
        write(chunk, _enc, cb) {
          log += chunk.toString();
          cb();
        },
      });
      srv = await startServer({ ...echo, allowQueryToken: true, logger: pino({ level: 'debug' }, stream) });
      const peer = await connect(`${srv.url}?token=${token}`);
      expect(await peer.next('auth_ok')).toMatchObject({ type: 'auth_ok' });
      await refused(`${srv.url}?token=${token}x`, {}, 401, 'WSG_AUTH_FAILED');
      peer.close();
      await peer.closed;
      expect(log).toContain('auth.success');
      expect(log).not.toContain(token);
    });

    it('refuses malformed upgrade headers with 400', async () => {
      srv = await startServer(echo);
      await refused(srv.url, { 'Sec-WebSocket-Protocol': 'a,'.repeat(40) + 'b' }, 400, 'WSG_BAD_REQUEST');
      await refused(srv.url, { 'Sec-WebSocket-Protocol': 'x'.repeat(5000) }, 400, 'WSG_BAD_REQUEST');
      await expectStillServing(srv.url);
    });
  });

  it('answers 503 while shutting down', async () => {
    const http = createServer();
    const wss = setupWebSockets(http, { auth: { jwt: { secret: TEST_SECRET } }, logger: false, ...echo });
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    const url = `ws://127.0.0.1:${(http.address() as AddressInfo).port}/ws`;
    const peer = await connect(url);
    const closing = wss.close({ timeoutMs: 500 });
    await refused(url, {}, 503, 'WSG_OVERLOADED');
    await closing;
    expect((await peer.closed).code).toBe(1001);
    http.close();
  });
});
