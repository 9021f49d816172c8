import { networkInterfaces } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertNoLeak, connect, connectAuthed } from '../helpers/peer.js';
import { type Child, freePort, startDemo } from '../helpers/process.js';

// `npm start` runs exactly this: the built demo server.
let child: Child;
let port: number;

beforeAll(async () => {
  port = await freePort();
  child = startDemo(port, { WSGUARD_JWT_SECRET: '' });
  await child.waitFor(/dev token \(12 h\): \S+/);
});
afterAll(() => child.stop());

describe('demo server (npm start)', () => {
  it('accepts test_token and acks an echo', async () => {
    const { peer, csrf, ok } = await connectAuthed(`ws://127.0.0.1:${port}/ws`, 'test_token');
    expect(ok).toMatchObject({ type: 'auth_ok', heartbeatMs: 30000 });
    peer.send({ id: 'demo-1', type: 'echo', payload: { hello: 'world' }, csrf });
    expect(await peer.next('ack')).toEqual({ type: 'ack', id: 'demo-1', result: { hello: 'world' } });
    assertNoLeak(peer.frames);
    peer.close();
  });

  it('accepts the printed dev token and broadcasts chat', async () => {
    const token = child.output().match(/dev token \(12 h\): (\S+)/)?.[1] as string;
    const a = await connectAuthed(`ws://127.0.0.1:${port}/ws`, token);
    const b = await connectAuthed(`ws://127.0.0.1:${port}/ws`, 'test_token');
    a.peer.send({ id: 'c1', type: 'chat', payload: { text: 'hi there' }, csrf: a.csrf });
    expect(await b.peer.next('chat')).toMatchObject({
      type: 'chat',
      payload: { from: 'demo-user', text: 'hi there' },
    });
    expect(await a.peer.next('ack')).toEqual({ type: 'ack', id: 'c1' });
    a.peer.close();
    b.peer.close();
  });

  it('refuses a bad token with 4401 and a control character in chat with WSG_VALIDATION_FAILED', async () => {
    const bad = await connect(`ws://127.0.0.1:${port}/ws`);
    bad.send({ type: 'auth', token: 'wrong' });
    expect((await bad.closed).code).toBe(4401);
    const { peer, csrf } = await connectAuthed(`ws://127.0.0.1:${port}/ws`, 'test_token');
    peer.send({ id: 'v', type: 'chat', payload: { text: 'evil\u202Etxt' }, csrf });
    expect(await peer.next('error')).toMatchObject({ id: 'v', code: 'WSG_VALIDATION_FAILED' });
    peer.close();
  });

  it('serves /healthz', async () => {
    const res = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: 'ok' });
  });

  it('/dev-token?user= gives a loopback peer a token for that user; a bad id is refused with 400', async () => {
    const res = await fetch(`http://127.0.0.1:${port}/dev-token?user=alice`);
    expect(res.status).toBe(200);
    const { token } = (await res.json()) as { token: string };
    const sub = JSON.parse(Buffer.from(token.split('.')[1] as string, 'base64url').toString()).sub;
    expect(sub).toBe('alice');
    const { peer, csrf } = await connectAuthed(`ws://127.0.0.1:${port}/ws`, token);
    peer.send({ id: 's1', type: 'subscribe', channel: 'user:alice', csrf });
    expect(await peer.next('ack')).toMatchObject({ id: 's1' });
    peer.send({ id: 's2', type: 'subscribe', channel: 'user:bob', csrf });
    expect(await peer.next('error')).toMatchObject({ id: 's2', code: 'WSG_FORBIDDEN' });
    peer.close();
    for (const bad of ['../x', '', 'a'.repeat(65), 'al ice', '<script>']) {
      const r = await fetch(`http://127.0.0.1:${port}/dev-token?user=${encodeURIComponent(bad)}`);
      expect(r.status, bad).toBe(400);
      expect(await r.text()).toBe('Bad user\n');
    }
    // without the parameter: a fresh guest, as before
    const guest = (await (await fetch(`http://127.0.0.1:${port}/dev-token`)).json()) as { token: string };
    const guestSub = JSON.parse(Buffer.from(guest.token.split('.')[1] as string, 'base64url').toString()).sub;
    expect(guestSub).toMatch(/^guest-[0-9a-f]{6}$/);
  });

  it('says in its banner that the dev shortcuts serve this machine only', () => {
    expect(child.output()).toMatch(/test_token and \/dev-token work only from this machine \(loopback\)/);
  });
});

// This machine's own non-loopback address: a peer there is "the network" to the demo.
const lanAddress = Object.values(networkInterfaces())
  .flat()
  .find((a) => a && a.family === 'IPv4' && !a.internal)?.address;

describe.runIf(lanAddress)('demo dev mode seen from the network', () => {
  it('refuses test_token and /dev-token to a non-loopback peer unless WSGUARD_DEV_OPEN=1', async () => {
    for (const open of [false, true]) {
      const p = await freePort();
      const demo = startDemo(p, { HOST: '0.0.0.0', WSGUARD_DEV_OPEN: open ? '1' : '' });
      try {
        await demo.waitFor(/dev mode/);
        const url = `ws://${lanAddress}:${p}/ws`;
        const res = await fetch(`http://${lanAddress}:${p}/dev-token`);
        expect(res.status).toBe(open ? 200 : 404);
        const peer = await connect(url);
        peer.send({ type: 'auth', token: 'test_token' });
        if (open) {
          expect(await peer.next('auth_ok')).toMatchObject({ type: 'auth_ok' });
          expect(demo.output()).toMatch(/OPEN TO THE NETWORK/);
          peer.close();
        } else {
          expect(await peer.next('error')).toMatchObject({ code: 'WSG_AUTH_FAILED' });
          expect(await peer.closed).toEqual({ code: 4401, reason: 'WSG_AUTH_FAILED' });
          // The same demo still serves the newcomer path on loopback.
          const local = await connectAuthed(`ws://127.0.0.1:${p}/ws`, 'test_token');
          local.peer.close();
          expect((await fetch(`http://127.0.0.1:${p}/dev-token`)).status).toBe(200);
        }
      } finally {
        await demo.stop();
      }
    }
  });
});
