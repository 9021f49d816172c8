import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { answerBare, type BareErrors } from '../../../src/server/connection/bare-errors.js';
import { DEFAULTS } from '../../../src/server/defaults.js';
import type { SecurityEvent } from '../../../src/server/events.js';
import { assertNoLeak, connectAuthed, type Peer } from '../../helpers/peer.js';
import { expectStillServing } from '../../helpers/served.js';
import { signToken, startServer, type TestServer } from '../../helpers/server.js';

// An `error` that names no message is answered at most bareErrorsPerSecond times a second per
// socket; every refusal still counts, scores and logs.

const PER_SECOND = DEFAULTS.internal.bareErrorsPerSecond;

describe('answerBare', () => {
  it('allows the per-second number, then nothing until a second has passed', () => {
    const conn: { bareErrors: BareErrors | undefined } = { bareErrors: undefined };
    const at = 1_000_000;
    const answered = Array.from({ length: PER_SECOND + 5 }, () => answerBare(conn, at));
    expect(answered.filter(Boolean)).toHaveLength(PER_SECOND);
    expect(answered.slice(PER_SECOND)).toEqual([false, false, false, false, false]);
    expect(answerBare(conn, at + 999)).toBe(false);
    expect(answerBare(conn, at + 1000)).toBe(true);
  });
});

let srv: TestServer | undefined;
afterEach(async () => {
  await srv?.close();
  srv = undefined;
});

/** Anomaly thresholds out of reach, so a long flood is not closed (that is tested below). */
const quiet = {
  messages: { echo: z.unknown() },
  handlers: { echo: (_c: unknown, p: unknown) => p },
  anomaly: { thresholds: { warn: 1e9, disconnect: 2e9, block: 3e9 } },
};

const errorsIn = (peer: Peer) =>
  peer.frames.map((f) => JSON.parse(f) as Record<string, unknown>).filter((f) => f.type === 'error');

describe('id-less error replies over a real socket', () => {
  it('a flood of bare pings gets the first replies only; each refusal is still counted and logged', async () => {
    const events: SecurityEvent[] = [];
    srv = await startServer({ ...quiet, onEvent: (e) => void events.push(e) });
    const { peer, csrf } = await connectAuthed(srv.url, await signToken('bare-1'));
    const before = srv.wss.stats().rejections.WSG_INVALID_MESSAGE ?? 0;
    for (let i = 0; i < 40; i++) peer.sendRaw('{"type":"ping"}');
    // Frames are answered in order: once this ack is in, every reply to the flood is too.
    peer.send({ id: 'after', type: 'echo', payload: 1, csrf });
    expect(await peer.next('ack')).toMatchObject({ id: 'after', result: 1 });
    const errors = errorsIn(peer);
    expect(errors).toHaveLength(PER_SECOND);
    for (const e of errors)
      expect(e).toEqual({ type: 'error', code: 'WSG_INVALID_MESSAGE', message: 'Invalid message' });
    expect((srv.wss.stats().rejections.WSG_INVALID_MESSAGE ?? 0) - before).toBe(40);
    expect(
      events.filter((e) => e.event === 'message.rejected' && e.code === 'WSG_INVALID_MESSAGE'),
    ).toHaveLength(40);
    assertNoLeak(peer.frames);
    await expectStillServing(srv.url);
  });

  it('past the budget, a refusal naming an id is still answered with its id', async () => {
    srv = await startServer(quiet);
    const { peer, csrf } = await connectAuthed(srv.url, await signToken('bare-2'));
    for (let i = 0; i < PER_SECOND + 5; i++) peer.sendRaw('not json');
    peer.sendRaw('{"id":"j1","type":"echo",');
    peer.sendRaw(`{"id":"k1","type":"nope","csrf":"${csrf}"}`);
    peer.send({ id: 'after', type: 'echo', payload: 1, csrf });
    expect(await peer.next('ack')).toMatchObject({ id: 'after' });
    const bare = { type: 'error', code: 'WSG_INVALID_JSON', message: 'Invalid JSON' };
    expect(errorsIn(peer)).toEqual([
      ...Array.from({ length: PER_SECOND }, () => bare),
      { ...bare, id: 'j1' },
      { type: 'error', id: 'k1', code: 'WSG_UNKNOWN_TYPE', message: 'Unknown message type' },
    ]);
    await expectStillServing(srv.url);
  });

  it('a rate-limit refusal (it carries a retry-after) is answered past the budget', async () => {
    srv = await startServer({
      ...quiet,
      limits: { messages: { rate: 1, burst: PER_SECOND + 2 }, penalties: false },
    });
    const { peer } = await connectAuthed(srv.url, await signToken('bare-3'));
    // The first PER_SECOND + 2 frames pass the limit and are refused as invalid (PER_SECOND of
    // them answered); the next is over the limit: WSG_RATE_LIMITED with its retry-after.
    for (let i = 0; i < PER_SECOND + 3; i++) peer.sendRaw('{"type":"ping"}');
    const limited = await peer.next('error').then(async function skip(e): Promise<Record<string, unknown>> {
      return e.code === 'WSG_RATE_LIMITED' ? e : skip(await peer.next('error'));
    });
    expect(limited).toMatchObject({ type: 'error', code: 'WSG_RATE_LIMITED' });
    expect(limited.retryAfterMs).toBeGreaterThan(0);
    expect(errorsIn(peer).filter((e) => e.code === 'WSG_INVALID_MESSAGE')).toHaveLength(PER_SECOND);
    await expectStillServing(srv.url);
  });

  it('the budget comes back after a second', async () => {
    srv = await startServer(quiet);
    const { peer, csrf } = await connectAuthed(srv.url, await signToken('bare-4'));
    for (let i = 0; i < PER_SECOND + 3; i++) peer.sendRaw('{"type":"ping"}');
    peer.send({ id: 'a1', type: 'echo', payload: 1, csrf });
    await peer.next('ack');
    expect(errorsIn(peer)).toHaveLength(PER_SECOND);
    await new Promise((r) => setTimeout(r, 1100));
    peer.sendRaw('{"type":"ping"}');
    peer.send({ id: 'a2', type: 'echo', payload: 2, csrf });
    await peer.next('ack');
    expect(errorsIn(peer)).toHaveLength(PER_SECOND + 1);
  });

  it('unanswered refusals still score: with the default anomaly thresholds the flood is closed 1008', async () => {
    srv = await startServer({ messages: quiet.messages, handlers: quiet.handlers });
    const { peer } = await connectAuthed(srv.url, await signToken('bare-5'));
    for (let i = 0; i < 40; i++) peer.sendRaw('{"type":"ping"}');
    const closed = await peer.closed;
    expect(closed).toEqual({ code: 1008, reason: 'WSG_ANOMALY' });
    expect(errorsIn(peer).at(-1)).toMatchObject({ code: 'WSG_ANOMALY' });
    assertNoLeak(peer.frames);
    await expectStillServing(srv.url);
  });
});
