import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { setupWebSockets, type WsGuardServer } from '../../../src/server/index.js';
import { connectAuthed } from '../../helpers/peer.js';
import { signToken, TEST_SECRET } from '../../helpers/server.js';

// /healthz and /metrics are answered ahead of the app's request listeners whenever those were
// added, and every other request reaches the app untouched (the app answers once, never twice).

const open: { http: Server; wss: WsGuardServer }[] = [];
afterEach(async () => {
  for (const s of open.splice(0)) {
    await s.wss.close({ timeoutMs: 500 });
    s.http.closeAllConnections();
    await new Promise((r) => s.http.close(r));
  }
});

const options = {
  auth: { jwt: { secret: TEST_SECRET } },
  logger: false as const,
  messages: { echo: z.unknown() },
  handlers: { echo: (_c: unknown, p: unknown) => p },
};

function appListener() {
  const seen: string[] = [];
  const errors: unknown[] = [];
  const listener = (req: IncomingMessage, res: ServerResponse) => {
    seen.push(req.url ?? '');
    try {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(`app ${req.url}`);
    } catch (err) {
      errors.push(err);
    }
  };
  return { seen, errors, listener };
}

async function listen(http: Server, wss: WsGuardServer) {
  open.push({ http, wss });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
}

async function get(base: string, path: string) {
  const r = await fetch(base + path);
  return { status: r.status, body: await r.text() };
}

describe('HTTP endpoints next to the app', () => {
  for (const order of ['before', 'after'] as const) {
    it(`a request listener added ${order} setupWebSockets gets every other path, never /healthz`, async () => {
      const http = createServer();
      const app = appListener();
      if (order === 'before') http.on('request', app.listener);
      const wss = setupWebSockets(http, options);
      if (order === 'after') http.on('request', app.listener);
      const base = await listen(http, wss);

      expect(await get(base, '/hello')).toEqual({ status: 200, body: 'app /hello' });
      const health = await get(base, '/healthz');
      expect(health.status).toBe(200);
      expect(JSON.parse(health.body)).toMatchObject({ status: 'ok' });
      expect((await fetch(`${base}/metrics`)).status).toBe(200);
      expect(await get(base, '/healthz/x')).toEqual({ status: 200, body: 'app /healthz/x' });
      expect(app.seen).toEqual(['/hello', '/healthz/x']);
      expect(app.errors).toEqual([]);
      // The WebSocket endpoint on the same server works as before.
      const { peer, csrf } = await connectAuthed(`${base.replace('http', 'ws')}/ws`, await signToken('u'));
      peer.send({ id: '1', type: 'echo', payload: 7, csrf });
      expect(await peer.next('ack')).toMatchObject({ id: '1', result: 7 });
      peer.close();
    });
  }

  it('an Express app added with server.on("request", app) after setup serves its routes and its 404', async () => {
    const http = createServer();
    const wss = setupWebSockets(http, options);
    const app = express();
    app.get('/hello', (_req, res) => {
      res.send('hi');
    });
    http.on('request', app);
    const base = await listen(http, wss);
    expect(await get(base, '/hello')).toEqual({ status: 200, body: 'hi' });
    expect((await get(base, '/healthz')).status).toBe(200);
    expect((await get(base, '/nope')).status).toBe(404);
  });

  it('with no request listener at all, other paths answer 404', async () => {
    const http = createServer();
    const wss = setupWebSockets(http, options);
    const base = await listen(http, wss);
    expect(await get(base, '/other')).toEqual({ status: 404, body: 'Not found\n' });
    expect((await get(base, '/healthz')).status).toBe(200);
  });

  it('POST /healthz and http.mount: false go to the app; close() hands /healthz back to the app', async () => {
    const http = createServer();
    const app = appListener();
    http.on('request', app.listener);
    const wss = setupWebSockets(http, options);
    const base = await listen(http, wss);
    expect((await fetch(`${base}/healthz`, { method: 'POST' })).status).toBe(200);
    expect(app.seen).toEqual(['/healthz']);
    await wss.close({ timeoutMs: 500 });
    expect(await get(base, '/healthz')).toEqual({ status: 200, body: 'app /healthz' });

    const http2 = createServer();
    const app2 = appListener();
    http2.on('request', app2.listener);
    const wss2 = setupWebSockets(http2, { ...options, http: { mount: false } });
    const base2 = await listen(http2, wss2);
    expect(await get(base2, '/healthz')).toEqual({ status: 200, body: 'app /healthz' });
  });
});
