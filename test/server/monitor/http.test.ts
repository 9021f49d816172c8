import { createServer, type IncomingMessage, request, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { setupWebSockets, type WsGuardServer } from '../../../src/server/index.js';
import { connect, connectAuthed } from '../../helpers/peer.js';
import { expectStillServing } from '../../helpers/served.js';
import { signToken, startServer, TEST_SECRET, type TestServer } from '../../helpers/server.js';

const echo = { messages: { echo: z.unknown() }, handlers: { echo: (_c: unknown, p: unknown) => p } };

let srv: TestServer | undefined;
afterEach(async () => {
  await srv?.close();
  srv = undefined;
});

/** One GET over its own connection (no keep-alive), status, headers and body. */
function get(port: number, path: string, headers: Record<string, string> = {}) {
  return new Promise<{ status: number; headers: Record<string, unknown>; body: string }>(
    (resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path, headers, agent: false }, (res) => {
        let body = '';
        res.on('data', (c) => {
          body += c;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      });
      req.on('error', reject);
      req.end();
    },
  );
}

const series = (text: string, name: string) => text.split('\n').filter((l) => l.startsWith(`${name}{`));

describe('/metrics and /healthz', () => {
  it('closes with codes a client picks do not add series: unknown codes count as code="other"', async () => {
    srv = await startServer({ ...echo, limits: { connectionsPerIp: false } });
    const n = 40;
    for (let i = 0; i < n; i++) {
      const peer = await connect(srv.url);
      peer.ws.close(3000 + i * 37);
      await peer.closed;
    }
    // The server counts a close when its side of the socket ends; wait until all 40 are in.
    while (srv.wss.stats().socketsOpen > 0) await new Promise((r) => setTimeout(r, 10));
    const { status, body } = await get(srv.port, '/metrics');
    expect(status).toBe(200);
    const closes = series(body, 'wsguard_closes_total');
    expect(closes).toContain(`wsguard_closes_total{code="other"} ${n}`);
    for (const line of closes) expect(line).toMatch(/^wsguard_closes_total\{code="(1\d{3}|4\d{3}|other)"\} /);
    expect(closes.length).toBe(1);
    for (const line of series(body, 'wsguard_rejections_total')) {
      expect(line).toMatch(/^wsguard_rejections_total\{code="(WSG_[A-Z_]+|other)"\} /);
    }
    await expectStillServing(srv.url);
  });

  it('rate limits /metrics and /healthz per address with 429 and Retry-After; WebSockets unaffected', async () => {
    srv = await startServer({ ...echo, http: { rateLimit: { rate: 1, burst: 5 } } });
    const answers = [];
    for (let i = 0; i < 12; i++) answers.push(await get(srv.port, i % 2 ? '/metrics' : '/healthz'));
    const refused = answers.filter((a) => a.status === 429);
    expect(answers.slice(0, 5).every((a) => a.status === 200)).toBe(true);
    expect(refused.length).toBeGreaterThanOrEqual(6);
    for (const r of refused) {
      expect(Number(r.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      expect(r.body).toBe('Too Many Requests\n');
    }
    await expectStillServing(srv.url);
  });

  it('answers concurrent scrapes from one rendering, the same text', async () => {
    const s = await startServer(echo);
    srv = s;
    const bodies = await Promise.all([1, 2, 3, 4].map(() => get(s.port, '/metrics')));
    expect(bodies.every((b) => b.status === 200 && b.body === bodies[0]?.body)).toBe(true);
  });
});

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

async function fetchText(base: string, path: string) {
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

      expect(await fetchText(base, '/hello')).toEqual({ status: 200, body: 'app /hello' });
      const health = await fetchText(base, '/healthz');
      expect(health.status).toBe(200);
      expect(JSON.parse(health.body)).toMatchObject({ status: 'ok' });
      expect((await fetch(`${base}/metrics`)).status).toBe(200);
      expect(await fetchText(base, '/healthz/x')).toEqual({ status: 200, body: 'app /healthz/x' });
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
    expect(await fetchText(base, '/hello')).toEqual({ status: 200, body: 'hi' });
    expect((await fetchText(base, '/healthz')).status).toBe(200);
    expect((await fetchText(base, '/nope')).status).toBe(404);
  });

  it('with no request listener at all, other paths answer 404', async () => {
    const http = createServer();
    const wss = setupWebSockets(http, options);
    const base = await listen(http, wss);
    expect(await fetchText(base, '/other')).toEqual({ status: 404, body: 'Not found\n' });
    expect((await fetchText(base, '/healthz')).status).toBe(200);
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
    expect(await fetchText(base, '/healthz')).toEqual({ status: 200, body: 'app /healthz' });

    const http2 = createServer();
    const app2 = appListener();
    http2.on('request', app2.listener);
    const wss2 = setupWebSockets(http2, { ...options, http: { mount: false } });
    const base2 = await listen(http2, wss2);
    expect(await fetchText(base2, '/healthz')).toEqual({ status: 200, body: 'app /healthz' });
  });
});
