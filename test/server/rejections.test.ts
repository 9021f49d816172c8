import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { CloseCode, ErrorCodes, errorCodeList } from '../../src/protocol/index.js';
import { DEFAULTS } from '../../src/server/defaults.js';
import { closesAfter, REJECTIONS, rejectionTable } from '../../src/server/rejections.js';
import { type MemoryGuard, memoryGuard, turns } from '../helpers/memory-guard.js';
import { repoRoot } from '../helpers/project.js';

let g: MemoryGuard | undefined;
afterEach(async () => {
  await g?.close();
  g = undefined;
});

const anomaly = { weights: DEFAULTS.anomaly.weights, thresholds: DEFAULTS.anomaly.thresholds };
const penalties = DEFAULTS.limits.penalties;

describe('the rejection table', () => {
  it('has a rule for every error code, and nothing else', () => {
    expect(Object.keys(REJECTIONS).sort()).toEqual([...errorCodeList].sort());
  });

  it('with the defaults, the 5th CSRF failure closes 1008 WSG_ANOMALY', () => {
    expect(closesAfter('WSG_CSRF_INVALID', anomaly, penalties)).toEqual({
      count: 5,
      closeCode: CloseCode.PolicyViolation,
      code: 'WSG_ANOMALY',
    });
  });

  it('rate limits end in strikes (4429) before the anomaly score, codes that close do so at once', () => {
    expect(closesAfter('WSG_RATE_LIMITED', anomaly, penalties)).toEqual({
      count: penalties.strikes,
      closeCode: ErrorCodes.WSG_BLOCKED.closeCode,
      code: 'WSG_BLOCKED',
    });
    expect(closesAfter('WSG_RATE_LIMITED', anomaly, false)?.code).toBe('WSG_ANOMALY');
    expect(closesAfter('WSG_MESSAGE_TOO_LARGE', anomaly, penalties)).toMatchObject({
      count: 1,
      closeCode: 1009,
    });
    expect(closesAfter('WSG_HANDLER_TIMEOUT', anomaly, penalties)).toBeUndefined();
    expect(closesAfter('WSG_CSRF_INVALID', false, penalties)).toBeUndefined();
  });
});

describe('a CSRF failure, answered as the table says', () => {
  it('is replied WSG_CSRF_INVALID and logged csrf.failure four times; the fifth closes 1008 WSG_ANOMALY', async () => {
    // A still clock: back to back, with no decay between them (with time passing, scores decay and
    // the sixth closes).
    const t = Date.now();
    g = memoryGuard({ messages: { chat: z.string() }, limits: false, now: () => t });
    const { conn, socket, csrf } = await g.open('mallory');
    for (let i = 1; i <= 5; i++) {
      conn.handleMessage(JSON.stringify({ id: `m${i}`, type: 'chat', payload: 'hi', csrf: 'forged' }), false);
      await turns();
      if (i < 5) {
        expect(g.frames(socket, 'error').at(-1)).toMatchObject({ id: `m${i}`, code: 'WSG_CSRF_INVALID' });
        expect(socket.closed).toBeUndefined();
      }
    }
    expect(g.frames(socket, 'error').at(-1)).toMatchObject({ code: 'WSG_ANOMALY' });
    expect(socket.closed).toEqual({ code: 1008, reason: 'WSG_ANOMALY' });
    expect(g.events.filter((e) => e.event === 'csrf.failure')).toHaveLength(5);
    expect(JSON.stringify(g.events)).not.toContain(csrf);
    expect(JSON.stringify(socket.sent)).not.toContain('forged');
    // Others are served on: a second user's message with the right token is acked.
    const other = await g.open('alice', '127.0.0.2');
    other.conn.handleMessage(
      JSON.stringify({ id: 'ok', type: 'chat', payload: 'hi', csrf: other.csrf }),
      false,
    );
    await turns();
    expect(g.frames(other.socket, 'ack')).toEqual([{ type: 'ack', id: 'ok' }]);
  });

  it('a refusal with no signal and no strike (WSG_UNKNOWN_TYPE with weight 0) never closes', async () => {
    g = memoryGuard({
      messages: { chat: z.string() },
      limits: false,
      anomaly: { weights: { unknownType: 0 } },
    });
    const { conn, socket, csrf } = await g.open('bob');
    for (let i = 0; i < 30; i++) {
      conn.handleMessage(JSON.stringify({ id: `u${i}`, type: 'nope', payload: 1, csrf }), false);
    }
    await turns();
    expect(g.frames(socket, 'error')).toHaveLength(30);
    expect(socket.closed).toBeUndefined();
    expect(g.guard.stats().rejections.WSG_UNKNOWN_TYPE).toBe(30);
  });
});

/** The docs row for one code, as docs/PROTOCOL.md "How each refusal counts" must show it. */
function docRow(code: (typeof errorCodeList)[number]): string {
  const r = REJECTIONS[code];
  const after = closesAfter(code, anomaly, penalties);
  const closes =
    after === undefined
      ? 'never'
      : after.count === 1
        ? `at once, ${after.closeCode}`
        : `the ${after.count}th, ${after.closeCode} \`${after.code}\``;
  const signal = r.signal ? `\`${r.signal}\` (${DEFAULTS.anomaly.weights[r.signal]})` : '—';
  return `| \`${code}\` | ${r.event ? `\`${r.event}\`` : '`auth.failure` (by the auth path)'} | \`${r.upgradeEvent}\` | ${signal} | ${r.strike ? 'yes' : 'no'} | ${r.authFailure ? 'yes' : 'no'} | ${closes} |`;
}

describe('docs/PROTOCOL.md shows the table', () => {
  it('one row per code, equal to REJECTIONS with the default options', () => {
    const doc = readFileSync(join(repoRoot, 'docs/PROTOCOL.md'), 'utf8').replace(/ +\|/g, ' |');
    for (const { code } of rejectionTable()) expect(doc, code).toContain(docRow(code));
  });
});
