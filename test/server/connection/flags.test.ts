import { describe, expect, it } from 'vitest';
import { ConnectionFlags } from '../../../src/server/connection/flags.js';

describe('connection flags', () => {
  it('start alive and nothing else, and keep each flag apart from the others', () => {
    const a = new ConnectionFlags();
    const all = () => [a.alive, a.expiringSent, a.holdsUserSlot, a.authenticated];
    expect(all()).toEqual([true, false, false, false]);
    a.holdsUserSlot = true;
    a.expiringSent = true;
    a.alive = false;
    expect(all()).toEqual([false, true, true, false]);
    a.holdsUserSlot = false;
    a.authenticated = true;
    expect(all()).toEqual([false, true, false, true]);
    a.expiringSent = true;
    a.authenticated = false;
    a.alive = true;
    expect(all()).toEqual([true, true, false, false]);
  });
});
