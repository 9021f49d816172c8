import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { SecureWebSocket } from '../../src/client/index.js';
import { nextEvent, reachState, sleep } from '../helpers/client.js';
import { signToken, startServer, type TestServer } from '../helpers/server.js';

/** The browser globals the client looks at, faked with real EventTargets (Node 20 has none of them). */
const nav = { onLine: true };
const doc = Object.assign(new EventTarget(), { visibilityState: 'visible' });
const win = new EventTarget();

let srv: TestServer | undefined;
let upgrades = 0;
const sockets: SecureWebSocket[] = [];

beforeEach(async () => {
  nav.onLine = true;
  doc.visibilityState = 'visible';
  for (const [name, value] of [
    ['navigator', nav],
    ['document', doc],
    ['window', win],
  ] as const) {
    Object.defineProperty(globalThis, name, { value, configurable: true, writable: true });
  }
  srv = await startServer({ messages: { echo: z.unknown() }, handlers: { echo: (_c, p) => p } });
  upgrades = 0;
  srv.http.prependListener('upgrade', () => upgrades++);
});

afterEach(async () => {
  for (const s of sockets.splice(0)) s.close();
  for (const name of ['navigator', 'document', 'window'])
    delete (globalThis as Record<string, unknown>)[name];
  await srv?.close();
});

/** A client whose backoff is a minute: any reconnect within the test came from a browser signal. */
async function client() {
  const socket = new SecureWebSocket({
    url: (srv as TestServer).url,
    authToken: await signToken('browser'),
    reconnect: { minDelayMs: 60_000, maxDelayMs: 120_000 },
  });
  sockets.push(socket);
  return socket;
}

describe('browser signals (guarded globals)', () => {
  it('pauses while offline, and reconnects at once on online', async () => {
    const socket = await client();
    await reachState(socket, 'open');
    nav.onLine = false;
    win.dispatchEvent(new Event('offline'));
    for (const s of (srv as TestServer).sockets) s.destroy();
    await reachState(socket, 'reconnecting');
    doc.dispatchEvent(new Event('visibilitychange')); // visible, but still offline: no dial
    await sleep(50);
    expect(upgrades).toBe(1);
    nav.onLine = true;
    win.dispatchEvent(new Event('online'));
    expect(await nextEvent(socket, 'open')).toMatchObject({ reconnected: true });
    expect(upgrades).toBe(2);
    await expect(socket.send({ type: 'echo', payload: 'back' })).resolves.toBe('back');
  });

  it('does not even dial the first time while offline', async () => {
    nav.onLine = false;
    const socket = await client();
    const queued = socket.send({ type: 'echo', payload: 'queued' });
    await sleep(50);
    expect([socket.state, upgrades, socket.queueSize]).toEqual(['connecting', 0, 1]);
    nav.onLine = true;
    win.dispatchEvent(new Event('online'));
    await expect(queued).resolves.toBe('queued');
  });

  it('reconnects at once when the page becomes visible again, not while it is hidden', async () => {
    const socket = await client();
    await reachState(socket, 'open');
    for (const s of (srv as TestServer).sockets) s.destroy();
    await reachState(socket, 'reconnecting');
    doc.visibilityState = 'hidden';
    doc.dispatchEvent(new Event('visibilitychange'));
    await sleep(50);
    expect(upgrades).toBe(1);
    doc.visibilityState = 'visible';
    doc.dispatchEvent(new Event('visibilitychange'));
    await nextEvent(socket, 'open');
    expect(upgrades).toBe(2);
  });

  it('stops listening after close()', async () => {
    const socket = await client();
    await reachState(socket, 'open');
    socket.close();
    win.dispatchEvent(new Event('online'));
    doc.dispatchEvent(new Event('visibilitychange'));
    await sleep(30);
    expect([socket.state, upgrades]).toEqual(['closed', 1]);
  });
});
