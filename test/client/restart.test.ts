import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { z } from 'zod';
import { SecureWebSocket } from '../../src/client/index.js';
import { type Outcome, outcome, reachState, sleep } from '../helpers/client.js';
import { signToken, startServer, type TestServer } from '../helpers/server.js';

let srv: TestServer | undefined;
const sockets: SecureWebSocket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.close();
  await srv?.close();
  srv = undefined;
});

const TOTAL = 1000;

/**
 * A server whose handler counts how often each message (by its payload number) was handled.
 * `async` handlers take 5 ms, like a database write, so some are running when the restart begins.
 */
function start(handled: Map<number, number>, mode: 'sync' | 'async', port?: number) {
  const count = (n: number) => handled.set(n, (handled.get(n) ?? 0) + 1);
  return startServer(
    {
      // This test is about delivery across restarts, not about limits: 1,000 messages at once.
      limits: { messages: { rate: 100_000, burst: 100_000 }, user: { rate: 100_000, burst: 100_000 } },
      messages: { work: z.object({ n: z.number().int() }) },
      handlers: {
        work:
          mode === 'sync'
            ? (_ctx, { n }) => {
                count(n);
                return n;
              }
            : async (_ctx, { n }) => {
                count(n);
                await new Promise((resolve) => setTimeout(resolve, 5));
                return n;
              },
      },
    },
    port === undefined ? {} : { port },
  );
}

/**
 * Sends TOTAL messages, a few per macrotask so the restart lands in the middle of the stream,
 * and calls `restart` once a third of them are out. Returns every outcome.
 */
async function sendThrough(socket: SecureWebSocket, restart: () => Promise<void>) {
  const results: Promise<Outcome<unknown>>[] = [];
  let restarting: Promise<void> | undefined;
  for (let n = 0; n < TOTAL; n++) {
    results.push(outcome(socket.send({ type: 'work', payload: { n } })));
    if (n === Math.floor(TOTAL / 3)) restarting = restart();
    if (n % 10 === 9) await sleep(1);
  }
  await restarting;
  return Promise.all(results);
}

/** Frames of type `work` the client wrote, resends included (a tap on a real `ws` socket). */
let written = 0;
class CountingWebSocket extends WebSocket {
  override send(data: string): void {
    if (data.includes('"type":"work"')) written++;
    super.send(data);
  }
}

function client() {
  written = 0;
  const socket = new SecureWebSocket({
    WebSocket: CountingWebSocket,
    url: (srv as TestServer).url,
    getToken: () => signToken('restart-user'),
    reconnect: { minDelayMs: 20, maxDelayMs: 200 },
    ackTimeoutMs: 30_000,
    queue: { maxMessages: TOTAL, ttlMs: 30_000 },
  });
  sockets.push(socket);
  return socket;
}

describe('restarting the whole server while the client sends 1,000 messages', () => {
  async function gracefulRestart(mode: 'sync' | 'async') {
    const handled = new Map<number, number>();
    srv = await start(handled, mode);
    const port = srv.port;
    const socket = client();
    await reachState(socket, 'open');
    const closes: number[] = [];
    socket.addEventListener('close', (e) => closes.push(e.code));
    const results = await sendThrough(socket, async () => {
      await (srv as TestServer).close();
      srv = await start(handled, mode, port);
    });
    expect(closes[0]).toBe(1001);
    const resolved = results.filter((r) => r.ok).length;
    const twice = [...handled.entries()].filter(([, c]) => c > 1).map(([n]) => n);
    console.info(
      `graceful restart, ${mode} handler: ${resolved}/${TOTAL} resolved, ${handled.size} handled, ` +
        `${written - TOTAL} resent after the reconnect, ${twice.length} handled twice ${twice.join(',')}`,
    );
    expect(resolved).toBe(TOTAL);
    expect(results.map((r) => (r.ok ? r.value : r.error))).toEqual([...Array(TOTAL).keys()]);
    for (let n = 0; n < TOTAL; n++) expect(handled.get(n), `message ${n}`).toBe(1);
  }

  it('graceful restart (1001, new server on the same port): every promise settles, every message handled exactly once', () =>
    gracefulRestart('sync'));

  // Regression: shutdown used to close sockets (1001) between the last handler's end and its
  // ack, so that message was handled again by the new server.
  it('graceful restart with async handlers: the last in-flight ack goes out before 1001', () =>
    gracefulRestart('async'));

  it('hard kill (sockets destroyed, no goodbye): every promise settles, none lost; counts what was handled twice', async () => {
    const handled = new Map<number, number>();
    srv = await start(handled, 'async');
    const port = srv.port;
    const socket = client();
    await reachState(socket, 'open');
    const results = await sendThrough(socket, async () => {
      const old = srv as TestServer;
      // Like a process crash: stop listening, cut every socket, then clean up what is left.
      await new Promise<void>((resolve) => {
        old.http.close(() => resolve());
        for (const s of old.sockets) s.destroy();
      });
      await old.wss.close({ timeoutMs: 100 });
      srv = await start(handled, 'async', port);
    });
    const resolved = results.filter((r) => r.ok).length;
    const twice = [...handled.entries()].filter(([, c]) => c > 1).map(([n]) => n);
    console.info(
      `hard kill: ${resolved}/${TOTAL} resolved, ${handled.size} handled, ${written - TOTAL} resent, ` +
        `${twice.length} handled twice ` +
        `(handled by the old process, ack lost with the socket, resent to the new process whose dedupe ` +
        `cache is empty): ${twice.join(',')}`,
    );
    expect(resolved).toBe(TOTAL);
    for (let n = 0; n < TOTAL; n++) expect(handled.get(n) ?? 0, `message ${n}`).toBeGreaterThanOrEqual(1);
    // Only a message that was on the wire when the sockets died can be handled twice.
    expect(twice.length).toBeLessThan(TOTAL / 3);
  });
});
