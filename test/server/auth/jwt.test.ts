import { createHmac } from 'node:crypto';
import { exportSPKI, generateKeyPair, SignJWT } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createJwtVerifier, WsgConfigError } from '../../../src/server/index.js';
import { assertNoLeak, connect, upgradeStatus } from '../../helpers/peer.js';
import { expectStillServing } from '../../helpers/served.js';
import { signToken, startServer, TEST_SECRET, type TestServer } from '../../helpers/server.js';

const echo = { messages: { echo: z.unknown() }, handlers: { echo: (_c: unknown, p: unknown) => p } };
const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
const now = () => Math.floor(Date.now() / 1000);

/** A hand-made HS256 JWT (for headers jose refuses to produce). */
function handMade(header: object, payload: object, secret: string | Buffer): string {
  const body = `${b64(header)}.${b64(payload)}`;
  return `${body}.${createHmac('sha256', secret).update(body).digest('base64url')}`;
}

let srv: TestServer | undefined;
afterEach(async () => {
  await srv?.close();
  srv = undefined;
});

/** Sends `token` as the first message and returns the close. */
async function firstMessageClose(url: string, token: string) {
  const peer = await connect(url);
  peer.send({ type: 'auth', token });
  const err = await peer.next('error');
  const closed = await peer.closed;
  assertNoLeak(peer.frames);
  return { err, closed };
}

describe('JWT auth', () => {
  it('accepts a good token through the header, the subprotocol and the first message', async () => {
    srv = await startServer(echo);
    const token = await signToken('alice');
    const viaHeader = await connect(srv.url, { headers: { Authorization: `Bearer ${token}` } });
    const viaProtocol = await connect(srv.url, { protocols: ['wsguard.v1', `wsguard.bearer.${token}`] });
    const viaMessage = await connect(srv.url);
    viaMessage.send({ type: 'auth', token });
    for (const p of [viaHeader, viaProtocol, viaMessage]) {
      const ok = await p.next('auth_ok');
      expect(ok.expiresAt).toBeGreaterThan(Date.now());
      expect(ok.expiresAt).toBeLessThanOrEqual(Date.now() + 3600_000);
      p.close();
    }
  });

  const bad: [string, () => Promise<string>][] = [
    ['expired', () => signToken('u', { exp: now() - 60 })],
    ['not yet valid', () => signToken('u', { nbf: now() + 600 })],
    ['signed with another secret', () => signToken('u', {}, 'another-secret-another-secret-another-1')],
    ['alg none', async () => `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: 'u', exp: now() + 600 })}.`],
    ['without exp', async () => handMade({ alg: 'HS256' }, { sub: 'u' }, TEST_SECRET)],
    [
      'HS512 (not pinned)',
      () =>
        new SignJWT({})
          .setProtectedHeader({ alg: 'HS512' })
          .setSubject('u')
          .setExpirationTime('1h')
          .sign(new TextEncoder().encode(TEST_SECRET)),
    ],
    ['garbage', async () => 'garbage.garbage.garbage'],
  ];

  it.each(bad)('refuses a token %s: 401 at upgrade, 4401 in the first message', async (_name, make) => {
    srv = await startServer(echo);
    const token = await make();
    const r = await upgradeStatus(srv.url, { Authorization: `Bearer ${token}` });
    expect(r.status).toBe(401);
    const { err, closed } = await firstMessageClose(srv.url, token);
    expect(err).toEqual({ type: 'error', code: 'WSG_AUTH_FAILED', message: 'Authentication failed' });
    expect(closed).toEqual({ code: 4401, reason: 'WSG_AUTH_FAILED' });
    await expectStillServing(srv.url);
  });

  it('has no clock tolerance for exp by default: accepted at exp-1 s, refused at exp+1 s', async () => {
    srv = await startServer(echo);
    // exp 2 s ahead: still valid by at least 1 s whichever way the second boundary falls.
    const live = await signToken('edge', { exp: now() + 2 });
    expect((await upgradeStatus(srv.url, { Authorization: `Bearer ${live}` })).status).toBe(101);
    const stale = await signToken('edge', { exp: now() - 1 });
    expect((await upgradeStatus(srv.url, { Authorization: `Bearer ${stale}` })).status).toBe(401);
    const { err, closed } = await firstMessageClose(srv.url, stale);
    expect(err).toEqual({ type: 'error', code: 'WSG_AUTH_FAILED', message: 'Authentication failed' });
    expect(closed).toEqual({ code: 4401, reason: 'WSG_AUTH_FAILED' });
    await expectStillServing(srv.url);
  });

  it('checks issuer and audience when configured', async () => {
    srv = await startServer({
      ...echo,
      auth: { jwt: { secret: TEST_SECRET, issuer: 'https://id.example', audience: 'chat' } },
    });
    const good = await signToken('u', { iss: 'https://id.example', aud: 'chat' });
    expect((await upgradeStatus(srv.url, { Authorization: `Bearer ${good}` })).status).toBe(101);
    for (const claims of [
      { iss: 'https://evil.example', aud: 'chat' },
      { iss: 'https://id.example', aud: 'other' },
      {},
    ]) {
      const { closed } = await firstMessageClose(srv.url, await signToken('u', claims));
      expect(closed.code).toBe(4401);
    }
  });

  it('a secret with several HMAC algorithms: each verifies with its own hash, again and again', async () => {
    const verify = createJwtVerifier({ secret: TEST_SECRET, algorithms: ['HS256', 'HS384', 'HS512'] });
    const sign = (alg: string, secret: string, sub: string) =>
      new SignJWT({})
        .setProtectedHeader({ alg })
        .setSubject(sub)
        .setExpirationTime('1h')
        .sign(new TextEncoder().encode(secret));
    const other = 'another-secret-another-secret-another-1';
    for (let round = 0; round < 2; round++) {
      for (const alg of ['HS256', 'HS384', 'HS512']) {
        expect(await verify(await sign(alg, TEST_SECRET, `u-${alg}`))).toMatchObject({ id: `u-${alg}` });
        // The key kept from the first token does not let another secret's token through.
        expect(await verify(await sign(alg, other, 'mallory'))).toBeNull();
      }
    }
    // A signature of one hash presented under another alg's name is refused.
    const hs512 = (await sign('HS512', TEST_SECRET, 'u')).split('.');
    const relabelled = `${b64({ alg: 'HS256' })}.${hs512[1]}.${hs512[2]}`;
    expect(await verify(relabelled)).toBeNull();
    // Only the pinned algorithms: HS512 is refused where only HS256 is allowed.
    const only256 = createJwtVerifier({ secret: TEST_SECRET });
    expect(await only256(await sign('HS512', TEST_SECRET, 'u'))).toBeNull();
    expect(await only256(await sign('HS256', TEST_SECRET, 'u'))).toMatchObject({ id: 'u' });
  });

  it('refuses HS/RS confusion: an HS256 token signed with the RSA public key', async () => {
    const { publicKey, privateKey } = await generateKeyPair('RS256');
    const pem = await exportSPKI(publicKey);
    srv = await startServer({ ...echo, auth: { jwt: { publicKey: pem } } });
    const rs = await new SignJWT({})
      .setProtectedHeader({ alg: 'RS256' })
      .setSubject('rsa')
      .setExpirationTime('1h')
      .sign(privateKey);
    expect((await upgradeStatus(srv.url, { Authorization: `Bearer ${rs}` })).status).toBe(101);
    const confused = handMade({ alg: 'HS256', typ: 'JWT' }, { sub: 'attacker', exp: now() + 600 }, pem);
    expect((await upgradeStatus(srv.url, { Authorization: `Bearer ${confused}` })).status).toBe(401);
    const { closed } = await firstMessageClose(srv.url, confused);
    expect(closed).toEqual({ code: 4401, reason: 'WSG_AUTH_FAILED' });
  });

  it('closes 4408 when no auth message arrives in time', async () => {
    srv = await startServer({ ...echo, authTimeoutMs: 200 });
    const peer = await connect(srv.url);
    expect(await peer.next('error')).toMatchObject({ code: 'WSG_AUTH_TIMEOUT' });
    expect(await peer.closed).toEqual({ code: 4408, reason: 'WSG_AUTH_TIMEOUT' });
    await expectStillServing(srv.url);
  });

  it('closes 4401 WSG_AUTH_REQUIRED for any other message before auth', async () => {
    srv = await startServer(echo);
    for (const first of [
      { type: 'echo', id: '1', payload: 1 },
      { type: 'ping', ts: 1 },
      { type: 'refresh', token: 'x' },
    ]) {
      const peer = await connect(srv.url);
      peer.send(first);
      expect(await peer.next('error')).toMatchObject({ code: 'WSG_AUTH_REQUIRED' });
      expect(await peer.closed).toEqual({ code: 4401, reason: 'WSG_AUTH_REQUIRED' });
    }
    await expectStillServing(srv.url);
  });

  it('a custom verify that throws or returns null refuses; its thrown detail never reaches the wire', async () => {
    srv = await startServer({
      ...echo,
      auth: {
        verify: (token) => {
          if (token === 'boom') throw new Error('db password is hunter2');
          return token === 'ok' ? { id: 'custom' } : null;
        },
      },
    });
    const boom = await firstMessageClose(srv.url, 'boom');
    expect(boom.closed.code).toBe(4401);
    const nope = await firstMessageClose(srv.url, 'nope');
    expect(nope.closed.code).toBe(4401);
    const peer = await connect(srv.url);
    peer.send({ type: 'auth', token: 'ok' });
    expect(await peer.next('auth_ok')).toMatchObject({ type: 'auth_ok' });
    peer.close();
  });
});

describe('createJwtVerifier options', () => {
  it('refuses bad configuration at setup', () => {
    expect(() => createJwtVerifier({ secret: 'short' })).toThrow(WsgConfigError);
    expect(() => createJwtVerifier({})).toThrow(WsgConfigError);
    expect(() => createJwtVerifier({ secret: TEST_SECRET, jwksUrl: 'https://x.example/jwks' })).toThrow(
      WsgConfigError,
    );
    expect(() =>
      createJwtVerifier({ publicKey: '-----BEGIN PUBLIC KEY-----', algorithms: ['HS256'] }),
    ).toThrow(WsgConfigError);
  });

  it('takes clockTolerance into account for exp', async () => {
    const verify = createJwtVerifier({ secret: TEST_SECRET, clockTolerance: 120 });
    expect(await verify(await signToken('late', { exp: now() - 30 }))).toMatchObject({ id: 'late' });
    expect(await verify(await signToken('late', { exp: now() - 300 }))).toBeNull();
  });
});
