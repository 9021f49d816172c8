import { describe, expect, it } from 'vitest';
import { ALL_CHECKS } from '../../../../src/cli/audit/catalogue.js';
import {
  appliesTo,
  isProtocolChoice,
  PROTOCOL_GENERIC,
  protocolByName,
} from '../../../../src/cli/audit/protocols/index.js';

describe('protocol choice and applicability', () => {
  it('accepts auto and the four protocols, nothing else', () => {
    for (const p of ['auto', 'wsguard', 'raw', 'socket.io', 'graphql-ws'])
      expect(isProtocolChoice(p), p).toBe(true);
    for (const p of ['', 'Socket.IO', 'socketio', 'mqtt', 'graphql'])
      expect(isProtocolChoice(p), p).toBe(false);
  });

  it('runs every check against wsguard, only the generic ones against the others', () => {
    const ids = ALL_CHECKS.map((c) => c.id);
    for (const id of PROTOCOL_GENERIC) expect(ids, id).toContain(id);
    expect(ids.every((id) => appliesTo(protocolByName('wsguard'), id))).toBe(true);
    for (const name of ['raw', 'socket.io', 'graphql-ws'] as const) {
      const p = protocolByName(name);
      expect(ids.filter((id) => appliesTo(p, id))).toEqual(ids.filter((id) => PROTOCOL_GENERIC.has(id)));
      for (const id of [
        'csrf.missing',
        'auth.alg-none',
        'session.expiry',
        'rate-limit.burst',
        'monitoring.dashboard-public',
        'monitoring.metrics-public',
      ])
        expect(appliesTo(p, id), `${name} ${id}`).toBe(false);
      for (const id of [
        'auth.no-token',
        'origin.foreign',
        'input.size-1m',
        'errors.stack-trace',
        'transport.plain-ws',
      ])
        expect(appliesTo(p, id), `${name} ${id}`).toBe(true);
    }
  });
});
