import { describe, expect, it } from 'vitest';
import { rawProtocol } from '../../../../src/cli/audit/protocols/raw.js';
import { jsonMessage, wsguardProtocol } from '../../../../src/cli/audit/protocols/wsguard.js';

const frame = (text: string) => ({ text, binary: false, json: JSON.parse(text) as Record<string, unknown> });

describe('wsguard and raw framing', () => {
  it('frames {id, type, payload, csrf}; the app payload replaces the filler', () => {
    expect(jsonMessage({ type: 'echo', payload: undefined, csrf: 'c' }, 1)).toEqual({
      id: expect.stringMatching(/^audit-/),
      type: 'echo',
      payload: 1,
      csrf: 'c',
    });
    expect(JSON.parse(wsguardProtocol.message({ type: 'note', payload: { text: 'hi' } }, 1))).toMatchObject({
      type: 'note',
      payload: { text: 'hi' },
    });
  });

  it('sizes a message exactly, padding inside an object payload', () => {
    expect(wsguardProtocol.sized({ type: 'echo', payload: undefined }, 1000)).toHaveLength(1000);
    const m = wsguardProtocol.sized({ type: 'note', payload: { text: 'hi' } }, 1000);
    expect(m).toHaveLength(1000);
    expect(JSON.parse(m)).toMatchObject({ payload: { text: 'hi', wsguardAuditPad: expect.any(String) } });
  });

  it('puts raw JSON where the payload goes', () => {
    expect(
      JSON.parse(wsguardProtocol.withPayload({ type: 'echo', payload: undefined }, '[[]]')),
    ).toMatchObject({
      type: 'echo',
      payload: [[]],
    });
  });

  it('raw speaks the same JSON, with no opening and no wsguard-only checks', () => {
    expect(rawProtocol.wsguard).toBe(false);
    expect(rawProtocol.open).toBeUndefined();
    expect(wsguardProtocol.wsguard).toBe(true);
    expect(rawProtocol.truncated({ type: 'echo', payload: undefined })).toBe('{"type":"echo","payload":');
    expect(rawProtocol.isRefusal(frame('{"type":"error","code":"X"}'))).toBe(true);
    expect(rawProtocol.isRefusal(frame('{"error":"bad"}'))).toBe(true);
    expect(rawProtocol.isRefusal(frame('{"type":"ack"}'))).toBe(false);
  });
});
