import { describe, expect, it } from 'vitest';
import { createSockets, noneInFlight } from '../../../src/server/connection/registry.js';
import { Connection, type ConnectionHost } from '../../../src/server/connection.js';
import type { GuardSocket } from '../../../src/server/socket.js';

// The registry reads only the connection's own fields: a socket and host that are never called.
const socket = {} as GuardSocket;
const host = {} as ConnectionHost;
const conn = (id: string) => new Connection(socket, host, id, '127.0.0.1');

describe('sockets registry', () => {
  it('counts a socket authenticated once, however often it is added, and forgets it on delete', () => {
    const sockets = createSockets();
    const a = conn('a');
    sockets.all.add(a);
    expect(sockets.authenticated.has(a)).toBe(false);
    sockets.authenticated.add(a);
    sockets.authenticated.add(a);
    expect(sockets.authenticated.size).toBe(1);
    expect(sockets.authenticated.has(a)).toBe(true);
    sockets.authenticated.delete(a);
    sockets.authenticated.delete(a);
    expect(sockets.authenticated.size).toBe(0);
    expect([...sockets.authenticated]).toEqual([]);
  });

  it('iterates the authenticated sockets only, in the order they opened', () => {
    const sockets = createSockets();
    const [a, b, c] = [conn('a'), conn('b'), conn('c')];
    for (const x of [a, b, c]) sockets.all.add(x);
    sockets.authenticated.add(c);
    sockets.authenticated.add(a);
    expect([...sockets.authenticated].map((x) => x.connectionId)).toEqual(['a', 'c']);
    // A closed socket leaves both (connection/host.ts onClosed).
    sockets.all.delete(c);
    sockets.authenticated.delete(c);
    expect([...sockets.authenticated].map((x) => x.connectionId)).toEqual(['a']);
    expect(sockets.authenticated.size).toBe(1);
  });

  it('waitUntil resolves once no handler runs', async () => {
    const sockets = createSockets();
    const a = conn('a');
    sockets.all.add(a);
    a.inflight = 1;
    let done = false;
    const waiting = sockets
      .waitUntil(() => noneInFlight(sockets), 60_000)
      .then(() => {
        done = true;
      });
    await Promise.resolve();
    expect(done).toBe(false);
    a.inflight = 0;
    sockets.changed();
    await waiting;
    expect(done).toBe(true);
  });
});
