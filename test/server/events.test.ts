import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { connect, connectAuthed } from '../helpers/peer.js';
import { rawHandshake } from '../helpers/raw-socket.js';
import { expectStillServing } from '../helpers/served.js';
import { signToken, startServer, type TestServer } from '../helpers/server.js';

const echo = { messages: { echo: z.unknown() }, handlers: { echo: (_c: unknown, p: unknown) => p } };
// biome-ignore lint/suspicious/noControlCharactersInRegex: looking for control characters is the point
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

let srv: TestServer | undefined;
afterEach(async () => {
  await srv?.close();
  srv = undefined;
});

function capture() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      done();
    },
  });
  return { lines, logger: pino({ level: 'info' }, stream) };
}

function strings(value: unknown, out: string[] = []): string[] {
  if (typeof value === 'string') out.push(value);
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      out.push(k);
      strings(v, out);
    }
  }
  return out;
}

describe('security log hygiene', () => {
  it('escapes C0, C1 and bidi controls from origins, user ids and message types in every log line', async () => {
    const log = capture();
    srv = await startServer({ ...echo, logger: log.logger });
    // Node decodes header bytes as latin1: 0x9b is the C1 CSI that starts a terminal escape.
    const { raw, answer } = await rawHandshake(srv.port, {
      headers: { Origin: `http://evil${String.fromCharCode(0x9b)}31m.example` },
    });
    expect(answer.status).toBe(403);
    raw.destroy();
    const evilUser = 'mallory\u001b[2J\u202egnp.exe\u2066';
    const { peer, csrf } = await connectAuthed(srv.url, await signToken(evilUser));
    peer.send({ id: 'x', type: 'ech\u202eo\u0007\u0085', payload: 1, csrf });
    expect((await peer.next('error')).code).toMatch(/^WSG_/);
    peer.close();
    await peer.closed;
    const bad = await connect(srv.url);
    bad.send({ type: 'auth', token: 'x\u009b\u202e' });
    await bad.closed;
    await expectStillServing(srv.url);
    const text = log.lines.join('\n');
    expect(text).toContain('origin.rejected');
    expect(text).toContain('mallory\\\\u001b[2J\\\\u202egnp.exe\\\\u2066');
    for (const line of log.lines) {
      for (const s of strings(JSON.parse(line))) expect(s, line).not.toMatch(UNSAFE);
    }
  });
});
