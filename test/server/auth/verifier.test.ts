import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createTokenVerifier } from '../../../src/server/auth/verifier.js';
import type { Principal } from '../../../src/server/connection/state.js';
import type { UpgradeRequest } from '../../../src/server/socket.js';

const req: UpgradeRequest = {
  url: '/ws',
  method: 'GET',
  headers: {},
  remoteAddress: '127.0.0.1',
  encrypted: false,
};

describe('token verifier', () => {
  it('hands back a copy of what verify() returned, with the token fingerprint as tokenId', async () => {
    const kept: Principal & { team?: string } = { id: 'alice', claims: { role: 'admin' }, team: 'blue' };
    const verifier = createTokenVerifier({ verify: () => kept });
    const p = await verifier('tok-1', req);
    const fingerprint = `sha256:${createHash('sha256').update('tok-1').digest('base64url')}`;
    expect(p).toEqual({ ...kept, tokenId: fingerprint });
    expect(p).not.toBe(kept);
    expect(Object.keys(p as object)).toEqual(['id', 'claims', 'team', 'tokenId']);
    expect(kept).not.toHaveProperty('tokenId');
  });

  it('names the token by its jti when it has one', async () => {
    const verifier = createTokenVerifier({ verify: () => ({ id: 'bob', jti: 'j-1' }) });
    expect(await verifier('tok', req)).toEqual({ id: 'bob', jti: 'j-1', tokenId: 'j-1' });
  });

  it('an own __proto__ key from verify() stays a plain property, never the prototype', async () => {
    const fromJson = JSON.parse('{"id":"eve","__proto__":{"admin":true}}') as Principal;
    const verifier = createTokenVerifier({ verify: () => fromJson });
    const p = (await verifier('tok', req)) as Principal & { admin?: boolean };
    expect(p.id).toBe('eve');
    expect(p.admin).toBeUndefined();
    expect(Object.getPrototypeOf(p)).toBe(Object.prototype);
    expect(Object.hasOwn(p, '__proto__')).toBe(true);
  });

  it('refuses a missing id, an empty or oversized token, and a verify() that throws', async () => {
    const verifier = createTokenVerifier({
      verify: (t) => (t === 'boom' ? Promise.reject(new Error('x')) : { id: '' }),
    });
    expect(await verifier('tok', req)).toBeNull();
    expect(await verifier('', req)).toBeNull();
    expect(await verifier('x'.repeat(8193), req)).toBeNull();
    expect(await verifier('boom', req)).toBeNull();
  });
});
