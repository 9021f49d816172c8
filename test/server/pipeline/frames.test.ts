import { describe, expect, it } from 'vitest';
import { ackFrame, errorFrame } from '../../../src/server/pipeline/frames.js';

const ids = ['0-1', 'a'.repeat(64), 'say"hi"', 'back\\slash', '}{"type":"x', '\u00e9', '\u2028', '"'];

describe('server frames', () => {
  it('ack frames are valid JSON carrying the id as sent, whatever characters it holds', () => {
    for (const id of ids) {
      expect(JSON.parse(ackFrame(id, undefined))).toEqual({ type: 'ack', id });
      expect(JSON.parse(ackFrame(id, { n: 1 }))).toEqual({ type: 'ack', id, result: { n: 1 } });
    }
  });

  it('a plain id is written between quotes, byte for byte what JSON.stringify gives', () => {
    expect(ackFrame('0-1', 7)).toBe('{"type":"ack","id":"0-1","result":7}');
    for (const id of ids)
      expect(ackFrame(id, null)).toBe(`{"type":"ack","id":${JSON.stringify(id)},"result":null}`);
  });

  it('error frames carry the id the same way', () => {
    for (const id of ids) {
      const m = JSON.parse(errorFrame('WSG_VALIDATION_FAILED', id));
      expect(m.id).toBe(id);
      expect(m.code).toBe('WSG_VALIDATION_FAILED');
    }
  });

  it('an ack of a value JSON cannot encode throws, for the caller to answer WSG_INTERNAL', () => {
    expect(() => ackFrame('1', { n: 1n })).toThrow();
  });
});
