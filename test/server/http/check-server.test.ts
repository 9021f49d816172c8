import { createServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import express from 'express';
import Fastify from 'fastify';
import { Hono } from 'hono';
import Koa from 'koa';
import { afterEach, describe, expect, it } from 'vitest';
import { WsgConfigError } from '../../../src/server/errors.js';
import { setupWebSockets, type WsGuardOptions } from '../../../src/server/index.js';
import { TEST_SECRET } from '../../helpers/server.js';

// Given anything but a node:http(s) Server, setupWebSockets throws at once and says what to
// pass instead: a framework's app would otherwise never see an upgrade (404 on everything).

const options: WsGuardOptions = { auth: { jwt: { secret: TEST_SECRET } }, logger: false };
const setup = (x: unknown) => () => setupWebSockets(x as Parameters<typeof setupWebSockets>[0], options);

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

describe('the server given to setupWebSockets', () => {
  it('an Express app: WsgConfigError naming app.listen and http.createServer(app)', () => {
    expect(setup(express())).toThrow(WsgConfigError);
    expect(setup(express())).toThrow(expect.objectContaining({ code: 'WSG_CONFIG_INVALID_SERVER' }));
    expect(setup(express())).toThrow(
      'wsguard: setupWebSockets needs the node:http or node:https Server, got an Express-style app (a request handler function). Pass the server `app.listen(port)` returns, or `http.createServer(app)`.',
    );
  });

  it('a Koa app', () => {
    expect(setup(new Koa())).toThrow(
      /got a Koa app\. Pass the server `app\.listen\(port\)` returns, or `http\.createServer\(app\.callback\(\)\)`/,
    );
  });

  it('a Fastify instance: pass fastify.server', async () => {
    const fastify = Fastify();
    cleanups.push(() => fastify.close());
    expect(setup(fastify)).toThrow(
      /got an object holding a server \(a Fastify instance\?\)\. Pass its `\.server`/,
    );
  });

  it('a Hono app', () => {
    expect(setup(new Hono())).toThrow(/got a Hono app\. Pass the server `serve\(\{ fetch: app\.fetch \}\)`/);
  });

  it('undefined, a number, a plain object', () => {
    expect(setup(undefined)).toThrow(/got undefined\. Pass the server your app listens on/);
    expect(setup(3000)).toThrow(/got number\./);
    expect(setup({ on() {} })).toThrow(/got an object \(Object\)\./);
    expect(setup(null)).toThrow(/got null\./);
  });

  it('a refused object leaves nothing attached; the right server afterwards works', async () => {
    const http = createServer();
    expect(setup({ server: http, listen() {} })).toThrow(WsgConfigError);
    expect(http.listenerCount('upgrade')).toBe(0);
    const wss = setupWebSockets(http, options);
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    cleanups.push(
      () => new Promise((r) => http.close(r)),
      () => wss.close({ timeoutMs: 200 }),
    );
    const res = await fetch(`http://127.0.0.1:${(http.address() as AddressInfo).port}/healthz`);
    expect(res.status).toBe(200);
  });

  it('an https.Server is accepted', async () => {
    const https = createHttpsServer();
    const wss = setupWebSockets(https, options);
    await wss.close({ timeoutMs: 200 });
  });
});
