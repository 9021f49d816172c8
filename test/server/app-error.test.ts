import { describe, expect, it } from 'vitest';
import { AppError, appError, appErrorFrame, isAppError } from '../../src/server/app-error.js';
import { WsgConfigError } from '../../src/server/index.js';

describe('appError', () => {
  it('makes an AppError with the code and message, and no stack', () => {
    const e = appError('APP_NOT_FOUND', 'No such room');
    expect(e).toBeInstanceOf(AppError);
    expect(isAppError(e)).toBe(true);
    expect(isAppError(new Error('x'))).toBe(false);
    expect(e.stack ?? '').not.toMatch(/\n\s+at /);
  });

  it('frames it with the id, escaping the message', () => {
    expect(JSON.parse(appErrorFrame(appError('APP_X', 'say "hi"'), 'm1'))).toEqual({
      type: 'error',
      id: 'm1',
      code: 'APP_X',
      message: 'say "hi"',
    });
    expect(JSON.parse(appErrorFrame(appError('APP_X', 'x'), undefined))).not.toHaveProperty('id');
  });

  it.each([
    ['a WSG_ code', 'WSG_FORBIDDEN', 'x'],
    ['lower case', 'APP_nope', 'x'],
    ['no suffix', 'APP_', 'x'],
    ['an empty message', 'APP_X', ''],
    ['a message over 200 characters', 'APP_X', 'x'.repeat(201)],
  ])('refuses %s', (_n, code, message) => {
    expect(() => appError(code as 'APP_X', message)).toThrow(WsgConfigError);
  });
});
