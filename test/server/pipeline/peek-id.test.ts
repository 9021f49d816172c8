import { describe, expect, it } from 'vitest';
import { peekId } from '../../../src/server/pipeline/peek-id.js';

describe('peekId', () => {
  it('reads the id of a frame that starts with it, from a string or a buffer', () => {
    expect(peekId('{"id":"m-1","type":"echo"}')).toBe('m-1');
    expect(peekId(Buffer.from('{ "id" : "abc" ,"type":"x"}'))).toBe('abc');
  });

  it('finds nothing when the id is not first, too long, or not a plain string', () => {
    expect(peekId('{"type":"echo","id":"m-1"}')).toBeUndefined();
    expect(peekId(`{"id":"${'a'.repeat(65)}"}`)).toBeUndefined();
    expect(peekId('{"id":"a\\"b"}')).toBeUndefined();
    expect(peekId('{"id":1}')).toBeUndefined();
  });

  it('looks at the first 100 bytes only', () => {
    expect(peekId(`{${' '.repeat(100)}"id":"late"}`)).toBeUndefined();
  });
});
