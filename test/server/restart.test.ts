import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { SecureWebSocket, SecureWebSocketError } from '../../src/client/index.js';
import { type Outcome, outcome, reachState, sleep } from '../helpers/client.js';
import { type Child, freePort, startChild } from '../helpers/process.js';
import { repoRoot } from '../helpers/project.js';
import { signToken, TEST_SECRET } from '../helpers/server.js';

// The server runs in its own process (test/helpers/journal-server.mjs, built code), so a
// restart is a real one: a new process on the same port, and after SIGKILL nothing of the old
// process's memory (its dedupe cache) survives. The journal file is the handlers' effect.

const CLIENTS = 4;
const TOTAL = 1000;
/** Most unacked messages per client, so the stream lasts across the disruption. */
const WINDOW = 50;

/** Frames of type `work` the clients wrote, resends included (a tap on a real `ws` socket). */
let written = 0;
class CountingWebSocket extends WebSocket {
  override send(data: string): void {
    if (data.includes('"type":"work"')) written++;
    super.send(data);
  }
}

const children: Child[] = [];
const sockets: SecureWebSocket[] = [];
const files: string[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.close();
  await Promise.all(children.splice(0).map((c) => c.stop()));
  for (const f of files.splice(0)) rmSync(f, { force: true });
});

async function startJournalServer(port: number, journal: string): Promise<Child> {
  const child = startChild(process.execPath, ['test/helpers/journal-server.mjs'], {
    cwd: repoRoot,
    env: { PORT: String(port), JOURNAL: journal, SECRET: TEST_SECRET },
  });
  children.push(child);
  await child.waitFor(/listening pid=/);
  return child;
}

/** Journal lines as `client:n` → pids of the processes that ran the handler for it. */
function readJournal(journal: string): Map<string, number[]> {
  const handled = new Map<string, number[]>();
  for (const line of readFileSync(journal, 'utf8').split('\n')) {
    if (line === '') continue;
    const [pid, c, n] = line.split(' ');
    const key = `${c}:${n}`;
    handled.set(key, [...(handled.get(key) ?? []), Number(pid)]);
  }
  return handled;
}

interface Stream {
  outcomes: Outcome<unknown>[][];
  /** `client:n` of every message whose send() had not settled when the disruption began. */
  unsettledAtDisruption: Set<string>;
  /** Messages settled when the disruption began (it must land mid-stream to prove anything). */
  settledAtDisruption: number;
  /** Frames written again after a reconnect (same id). */
  resent: number;
}

/**
 * CLIENTS clients send TOTAL messages each, at most `o.window` unsettled at a time. Once a third of
 * everything is acked, `disrupt` runs; no client sends past the half-way mark before it has
 * begun, so the disruption always lands mid-stream.
 */
async function stream(
  port: number,
  disrupt: () => Promise<void>,
  o = { ackTimeoutMs: 60_000, queueTtlMs: 60_000, window: WINDOW },
): Promise<Stream> {
  written = 0;
  const clients = await Promise.all(
    Array.from({ length: CLIENTS }, async (_, c) => {
      const socket = new SecureWebSocket({
        WebSocket: CountingWebSocket,
        url: `ws://127.0.0.1:${port}/ws`,
        getToken: () => signToken(`restart-user-${c}`),
        reconnect: { minDelayMs: 20, maxDelayMs: 200 },
        ackTimeoutMs: o.ackTimeoutMs,
        queue: { maxMessages: TOTAL, ttlMs: o.queueTtlMs },
      });
      sockets.push(socket);
      await reachState(socket, 'open');
      return socket;
    }),
  );
  const unsettled = new Set<string>();
  let settled = 0;
  let began!: () => void;
  const disruptionBegan = new Promise<void>((resolve) => {
    began = resolve;
  });
  const send = async (c: number): Promise<Outcome<unknown>[]> => {
    const socket = clients[c] as SecureWebSocket;
    const all: Promise<Outcome<unknown>>[] = [];
    let open = 0;
    for (let n = 0; n < TOTAL; n++) {
      if (n === TOTAL / 2) await disruptionBegan;
      while (open >= o.window) await sleep(1);
      open++;
      const key = `${c}:${n}`;
      unsettled.add(key);
      all.push(
        outcome(socket.send({ type: 'work', payload: { c, n } })).then((o) => {
          open--;
          settled++;
          unsettled.delete(key);
          return o;
        }),
      );
    }
    return Promise.all(all);
  };
  const sending = Promise.all(clients.map((_, c) => send(c)));
  while (settled < (CLIENTS * TOTAL) / 3) await sleep(2);
  const snapshot = { unsettledAtDisruption: new Set(unsettled), settledAtDisruption: settled };
  const disrupted = disrupt();
  began();
  await disrupted;
  return { outcomes: await sending, ...snapshot, resent: written - CLIENTS * TOTAL };
}

async function setUp() {
  const port = await freePort();
  const journal = join(tmpdir(), `wsguard-journal-${process.pid}-${port}.log`);
  files.push(journal);
  const first = await startJournalServer(port, journal);
  return { port, journal, first };
}

/** Every send() settled, and every one resolved with its own `n` (none rejected, none lost). */
function expectAllResolved(s: Stream) {
  expect(s.settledAtDisruption).toBeLessThan(CLIENTS * TOTAL);
  for (const [c, outcomes] of s.outcomes.entries()) {
    const rejected = outcomes.filter((o) => !o.ok);
    expect(rejected, `client ${c}: rejected sends`).toEqual([]);
    expect(outcomes.map((o) => (o.ok ? o.value : undefined))).toEqual([...Array(TOTAL).keys()]);
  }
}

function expectEachHandled(handled: Map<string, number[]>, times: (key: string) => 'once' | 'at least once') {
  for (let c = 0; c < CLIENTS; c++) {
    for (let n = 0; n < TOTAL; n++) {
      const key = `${c}:${n}`;
      const runs = handled.get(key)?.length ?? 0;
      if (times(key) === 'once') expect(runs, `message ${key}`).toBe(1);
      else expect(runs, `message ${key}`).toBeGreaterThanOrEqual(1);
    }
  }
  expect(handled.size).toBe(CLIENTS * TOTAL);
}

describe('a server process restarted while 4 clients send 1,000 messages each', () => {
  it('graceful restart (SIGTERM: close 1001, then a new process on the same port): every send() resolves, each message handled exactly once', async () => {
    const { port, journal, first } = await setUp();
    let second: Child | undefined;
    const s = await stream(port, async () => {
      await first.stop();
      second = await startJournalServer(port, journal);
    });
    expectAllResolved(s);
    const handled = readJournal(journal);
    expectEachHandled(handled, () => 'once');
    const pids = new Set([...handled.values()].flat());
    expect(pids).toEqual(new Set([first.proc.pid, second?.proc.pid]));
    console.info(
      `graceful restart: ${s.settledAtDisruption} settled before SIGTERM, ${s.resent} resent, ` +
        `${[...handled.values()].filter((p) => p[0] === second?.proc.pid).length} handled by the new process`,
    );
  }, 30_000);

  it('connections cut, same process (a network drop): the resent messages are acked from the dedupe cache, each handled exactly once', async () => {
    const { port, journal, first } = await setUp();
    const s = await stream(port, async () => {
      first.proc.kill('SIGUSR2');
      await first.waitFor(/dropped \d+ sockets/);
    });
    expectAllResolved(s);
    // Unacked messages went out again on the new connection, to the process that may have run them.
    expect(s.resent).toBeGreaterThan(0);
    const handled = readJournal(journal);
    expectEachHandled(handled, () => 'once');
    console.info(`connections cut: ${s.resent} resent, none handled twice`);
  }, 30_000);

  it('abrupt kill (SIGKILL, new process): every send() resolves, each message handled at least once; only messages unacked at the kill run twice', async () => {
    const { port, journal, first } = await setUp();
    const s = await stream(port, async () => {
      const exited = new Promise((resolve) => first.proc.once('exit', resolve));
      first.proc.kill('SIGKILL');
      await exited;
      await startJournalServer(port, journal);
    });
    expectAllResolved(s);
    const handled = readJournal(journal);
    expectEachHandled(handled, () => 'at least once');
    const twice = [...handled].filter(([, pids]) => pids.length > 1);
    for (const [key, pids] of twice) {
      // The old process ran it and died before the ack got out; the new one, with an empty
      // dedupe cache, ran the resend. Nothing acked before the kill runs again.
      expect(s.unsettledAtDisruption.has(key), `message ${key} acked before the kill, then run again`).toBe(
        true,
      );
      expect(pids, `message ${key}`).toHaveLength(2);
      expect(pids[0]).toBe(first.proc.pid);
      expect(pids[1]).not.toBe(first.proc.pid);
    }
    console.info(
      `SIGKILL: ${s.settledAtDisruption} settled before the kill, ${s.unsettledAtDisruption.size} unsettled, ` +
        `${s.resent} resent, ` +
        `${twice.length} handled twice`,
    );
  }, 30_000);

  it('killed and not restarted: every send() settles; a rejection that says maybeHandled: false was never handled', async () => {
    const { port, journal, first } = await setUp();
    const s = await stream(
      port,
      async () => {
        const exited = new Promise((resolve) => first.proc.once('exit', resolve));
        first.proc.kill('SIGKILL');
        await exited;
      },
      // Short, so the unanswered sends give up within the test: nothing answers any more. No
      // window: the rest of the stream is queued at once, not 50 per expiry.
      { ackTimeoutMs: 1500, queueTtlMs: 1500, window: TOTAL },
    );
    const handled = readJournal(journal);
    let rejected = 0;
    let ranButRejected = 0;
    for (const [c, outcomes] of s.outcomes.entries()) {
      for (const [n, o] of outcomes.entries()) {
        const key = `${c}:${n}`;
        if (o.ok) {
          expect(handled.get(key), `message ${key} resolved`).toHaveLength(1);
          continue;
        }
        rejected++;
        expect(o.error, `message ${key}`).toBeInstanceOf(SecureWebSocketError);
        const error = o.error as SecureWebSocketError;
        // AckTimeoutError (sent, no ack) may have run; MessageExpiredError (never sent) did not.
        if (!error.maybeHandled) expect(handled.has(key), `message ${key}: ${error.name}`).toBe(false);
        if (error.maybeHandled && handled.has(key)) ranButRejected++;
      }
    }
    expect(rejected).toBeGreaterThan(0);
    console.info(
      `killed for good: ${rejected} of ${CLIENTS * TOTAL} sends rejected (${ranButRejected} of them ` +
        'ran before the kill and say maybeHandled: true), the rest resolved before the kill',
    );
  }, 30_000);
});
