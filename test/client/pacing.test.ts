import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { type CloseEvent, type QueueEvent, SecureWebSocket } from '../../src/client/index.js';
import { type Outcome, outcome, reachState, sleep } from '../helpers/client.js';
import { connectAuthed } from '../helpers/peer.js';
import { type Child, freePort, startDemo } from '../helpers/process.js';

// Acceptance: the client and the demo server (`npm start`, its own options) never fight. Real
// processes, real restarts; the server's log must show no refusal for this client.

const children: Child[] = [];
const sockets: SecureWebSocket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.close();
  for (const c of children.splice(0)) await c.stop();
});

async function demo(port: number): Promise<Child> {
  const child = startDemo(port, { WSGUARD_JWT_SECRET: '' });
  children.push(child);
  await child.waitFor(/dev token \(12 h\): \S+/);
  return child;
}

/** The per-socket rate the demo announces in auth_ok. */
async function announcedRate(port: number): Promise<number> {
  const { peer, ok } = await connectAuthed(`ws://127.0.0.1:${port}/ws`, 'test_token');
  peer.close();
  const limits = ok.limits as { messagesPerSecond: number };
  expect(limits.messagesPerSecond).toBeGreaterThan(0);
  return limits.messagesPerSecond;
}

function client(port: number) {
  const closes: CloseEvent[] = [];
  const queue: QueueEvent[] = [];
  const errors: Error[] = [];
  const socket = new SecureWebSocket({
    WebSocket,
    url: `ws://127.0.0.1:${port}/ws`,
    authToken: 'test_token',
    reconnect: { minDelayMs: 100, maxDelayMs: 500 },
    ackTimeoutMs: 60_000,
    queue: { maxMessages: 5000, maxBytes: 4 * 1024 * 1024, ttlMs: 60_000 },
  });
  sockets.push(socket);
  socket.addEventListener('close', (e) => closes.push(e));
  socket.addEventListener('queue', (e) => queue.push(e));
  socket.addEventListener('error', (e) => errors.push(e));
  return { socket, closes, queue, errors };
}

/** `count` echoes at `perSecond`, on a schedule (no drift); `during(ms)` runs alongside. */
async function sendAt(
  socket: SecureWebSocket,
  perSecond: number,
  seconds: number,
  during?: () => Promise<void>,
) {
  const results: Promise<Outcome<unknown>>[] = [];
  const count = Math.round(perSecond * seconds);
  const start = Date.now();
  const side = during?.();
  for (let n = 0; n < count; n++) {
    const due = start + (n * 1000) / perSecond;
    if (due > Date.now()) await sleep(due - Date.now());
    results.push(outcome(socket.send({ type: 'echo', payload: { n } })));
  }
  await side;
  return { count, outcomes: await Promise.all(results) };
}

function expectAllResolved(r: { count: number; outcomes: Outcome<unknown>[] }) {
  const failed = r.outcomes.filter((o) => !o.ok);
  expect(failed.map((o) => (o.ok ? '' : `${o.error.name}: ${o.error.message}`)).slice(0, 3)).toEqual([]);
  // Each send resolves with its own result (echo returns the payload).
  expect(r.outcomes.map((o) => (o.ok ? o.value : undefined))).toEqual(r.outcomes.map((_o, n) => ({ n })));
}

const refusalsIn = (log: string) =>
  log.split('\n').filter((l) => /rate\.limited|penalty\.blocked|WSG_ANOMALY/.test(l));

describe('pacing against the demo server, through restarts', () => {
  it('90% of the announced rate for 20 s through a graceful restart with 3 s downtime: all resolve, nothing refused', async () => {
    const port = await freePort();
    const first = await demo(port);
    const rate = await announcedRate(port);
    const c = client(port);
    await reachState(c.socket, 'open');
    let second: Child | undefined;
    const r = await sendAt(c.socket, rate * 0.9, 20, async () => {
      await sleep(5000);
      await first.stop();
      await sleep(3000);
      second = await demo(port);
    });
    expectAllResolved(r);
    expect(c.closes.filter((e) => e.code === 1008 || e.code === 4429)).toEqual([]);
    expect(c.closes.some((e) => e.code === 1001 && e.willReconnect)).toBe(true);
    expect(c.errors).toEqual([]);
    expect(refusalsIn(first.output() + (second?.output() ?? ''))).toEqual([]);
  }, 60_000);

  it('90% of the rate for 20 s through SIGKILL and a restart: all resolve (at least once), nothing refused', async () => {
    const port = await freePort();
    const first = await demo(port);
    const rate = await announcedRate(port);
    const c = client(port);
    await reachState(c.socket, 'open');
    let second: Child | undefined;
    const r = await sendAt(c.socket, rate * 0.9, 20, async () => {
      await sleep(5000);
      const exited = new Promise((resolve) => first.proc.once('exit', resolve));
      first.proc.kill('SIGKILL');
      await exited;
      second = await demo(port);
    });
    expectAllResolved(r);
    expect(c.closes.filter((e) => e.code === 1008 || e.code === 4429)).toEqual([]);
    expect(c.errors).toEqual([]);
    expect(refusalsIn(first.output() + (second?.output() ?? ''))).toEqual([]);
  }, 60_000);

  it('300% of the rate for 10 s: the client slows itself (queue reason paced), all resolve, the server refuses nothing', async () => {
    const port = await freePort();
    const server = await demo(port);
    const rate = await announcedRate(port);
    const c = client(port);
    await reachState(c.socket, 'open');
    const r = await sendAt(c.socket, rate * 3, 10);
    expectAllResolved(r);
    expect(c.queue.some((e) => e.reason === 'paced')).toBe(true);
    expect(c.closes).toEqual([]);
    expect(c.errors).toEqual([]);
    expect(refusalsIn(server.output())).toEqual([]);
  }, 90_000);
});
