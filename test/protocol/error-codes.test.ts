import { describe, expect, it } from 'vitest';
import {
  CloseCode,
  ErrorCodes,
  errorCodeList,
  formatCloseReason,
  isErrorCode,
  parseCloseReason,
} from '../../src/protocol/index.js';

describe('error-code registry', () => {
  it('every code is WSG_ upper snake case with a short message and a known close code', () => {
    const closeCodes = new Set<number>(Object.values(CloseCode));
    for (const code of errorCodeList) {
      expect(code).toMatch(/^WSG_[A-Z_]+$/);
      const info = ErrorCodes[code];
      expect(info.message.length).toBeLessThanOrEqual(40);
      expect(closeCodes.has(info.closeCode)).toBe(true);
    }
  });

  it('close reasons fit the 123-byte limit and round-trip', () => {
    for (const code of errorCodeList) {
      const reason = formatCloseReason(code, 3_600_000);
      expect(Buffer.byteLength(reason)).toBeLessThanOrEqual(123);
      expect(parseCloseReason(reason)).toEqual({ code, retryAfterMs: 3_600_000 });
      expect(parseCloseReason(formatCloseReason(code))).toEqual({ code });
    }
    expect(parseCloseReason('something else;retryAfterMs=abc')).toEqual({});
    expect(isErrorCode('toString')).toBe(false);
  });
});
