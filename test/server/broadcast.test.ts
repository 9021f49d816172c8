import { afterEach, describe, expect, it } from 'vitest';
import { memoryStore } from '../../src/server/stores/memory/index.js';
import { type MemoryGuard, memoryGuard, turns } from '../helpers/memory-guard.js';
import { memorySocket, memoryUpgradeRequest } from '../helpers/memory-socket.js';

let guards: MemoryGuard[] = [];
afterEach(async () => {
  for (const g of guards) await g.close();
  guards = [];
});

describe('broadcast', () => {
  it('reaches every authenticated socket on every node sharing the store, and no socket before auth', async () => {
    const store = memoryStore();
    const a = memoryGuard({ store, limits: false });
    const b = memoryGuard({ store, limits: false });
    guards.push(a, b);
    const one = await a.open('one');
    const two = await b.open('two');
    const anonymous = memorySocket();
    b.guard.open(anonymous, { ok: true, ip: '127.0.0.9' }, memoryUpgradeRequest());
    a.guard.broadcast('news', { n: 1 });
    await turns();
    for (const s of [one.socket, two.socket]) {
      expect(a.frames(s, 'news')).toEqual([{ type: 'news', payload: { n: 1 } }]);
    }
    expect(anonymous.sent).toEqual([]);
  });

  it('stops delivering once the node is closed', async () => {
    const store = memoryStore();
    const a = memoryGuard({ store, limits: false });
    const b = memoryGuard({ store, limits: false });
    guards.push(a);
    const s = await b.open('gone');
    await b.close();
    a.guard.broadcast('news', 1);
    await turns();
    expect(b.frames(s.socket, 'news')).toEqual([]);
  });
});
