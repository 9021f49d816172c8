import { describe, expect, it } from 'vitest';
import { socketIoProtocol as sio } from '../../../../src/cli/audit/protocols/socketio.js';
import type { Frame, Link } from '../../../../src/cli/audit/protocols/types.js';

const frame = (text: string): Frame => ({ text, binary: false, json: undefined });
const app = { type: 'echo', payload: undefined };

/** A link over a list of server frames, recording what the client sent. */
function scripted(frames: (string | undefined)[], close?: { code: number; reason: string }) {
  const sent: string[] = [];
  const link: Link = {
    sendRaw: (d) => sent.push(String(d)),
    next: async () => {
      const t = frames.shift();
      return t === undefined ? undefined : frame(t);
    },
    closeInfo: () => (frames.length === 0 ? close : undefined),
  };
  return { link, sent };
}

describe('Socket.IO framing', () => {
  it('upgrades the Engine.IO WebSocket transport, on /socket.io/ unless the URL names it', () => {
    expect(sio.endpoint(new URL('ws://h:1/')).href).toBe('ws://h:1/socket.io/?EIO=4&transport=websocket');
    expect(sio.endpoint(new URL('ws://h:1/chat?x=1')).href).toBe(
      'ws://h:1/socket.io/?EIO=4&transport=websocket',
    );
    expect(sio.endpoint(new URL('wss://h/app/socket.io/')).href).toBe(
      'wss://h/app/socket.io/?EIO=4&transport=websocket',
    );
  });

  it('sends events with an ack id, the app payload when given', () => {
    expect(sio.message(app, { a: 1 })).toMatch(/^42\d+\["echo",\{"a":1\}\]$/);
    expect(sio.message({ type: 'note', payload: { text: 'hi' } }, 1)).toMatch(
      /^42\d+\["note",\{"text":"hi"\}\]$/,
    );
    expect(sio.withPayload(app, '[[]]')).toMatch(/^42\d+\["echo",\[\[\]\]\]$/);
    expect(sio.unknownType(app)).toMatch(/^42\d+\["auditUnknownType",1\]$/);
    expect(sio.truncated(app)).toMatch(/^42\d+\["echo",$/);
  });

  it('builds a sized event of exactly the bytes asked, padding inside an object payload', () => {
    for (const bytes of [100, 64 * 1024 + 1]) expect(sio.sized(app, bytes)).toHaveLength(bytes);
    const inObject = sio.sized({ type: 'note', payload: { text: 'hi' } }, 500);
    expect(inObject).toHaveLength(500);
    const [, args] = /^42\d+(.*)$/.exec(inObject) ?? [];
    expect(JSON.parse(args ?? '')).toEqual(['note', { text: 'hi', wsguardAuditPad: expect.any(String) }]);
  });

  it('answers Engine.IO pings and swallows pongs and noops; other frames are answers', () => {
    const { link, sent } = scripted([]);
    expect(sio.background(frame('2'), link)).toBe(true);
    expect(sent).toEqual(['3']);
    expect(sio.background(frame('3'), link)).toBe(true);
    expect(sio.background(frame('6'), link)).toBe(true);
    expect(sio.background(frame('431[{"ok":true}]'), link)).toBe(false);
    expect(sio.background(frame('0{"sid":"x"}'), link)).toBe(false);
  });

  it('knows its refusals: connect_error, disconnect, Engine.IO close, an ack carrying {error}', () => {
    for (const t of ['44{"message":"unauthorized"}', '41', '1', '437[{"error":"nope"}]'])
      expect(sio.isRefusal(frame(t)), t).toBe(true);
    for (const t of ['431[{"ok":true}]', '42["news",1]', '40{"sid":"x"}', '43[]'])
      expect(sio.isRefusal(frame(t)), t).toBe(false);
  });

  it('opens: waits for the open packet, connects with the token, accepts 40{sid}', async () => {
    const { link, sent } = scripted(['0{"sid":"a","pingInterval":25000}', '40{"sid":"b"}']);
    await expect(sio.open?.(link, 'tok', 100)).resolves.toEqual({
      ok: true,
      received: ['0{"sid":"a","pingInterval":25000}', '40{"sid":"b"}'],
    });
    expect(sent).toEqual(['40{"token":"tok"}']);
    const bare = scripted(['0{"sid":"a"}', '40{"sid":"b"}']);
    await sio.open?.(bare.link, undefined, 100);
    expect(bare.sent).toEqual(['40']);
  });

  it('reports a refused or missing opening with what came back', async () => {
    const refused = scripted(['0{"sid":"a"}', '44{"message":"unauthorized"}']);
    await expect(sio.open?.(refused.link, undefined, 100)).resolves.toMatchObject({
      ok: false,
      refusal: '44{"message":"unauthorized"}',
    });
    const silent = scripted([], { code: 1006, reason: '' });
    await expect(sio.open?.(silent.link, 'tok', 100)).resolves.toMatchObject({
      ok: false,
      refusal: 'closed 1006 before the Engine.IO open packet',
    });
    const other = scripted(['{"type":"hello"}']);
    await expect(sio.open?.(other.link, 'tok', 100)).resolves.toMatchObject({
      ok: false,
      refusal: 'no Engine.IO open packet: {"type":"hello"}',
    });
  });

  it('provokes with malformed packets, each a Socket.IO parse error', () => {
    const p = sio.provocations(app);
    expect(p).toContain('42[]');
    expect(p).toContain('42null');
    expect(p.every((t) => t.startsWith('4'))).toBe(true);
  });
});
