import { readFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { connect as tlsConnect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, connectAuthed, upgradeStatus } from '../helpers/peer.js';
import { type Child, freePort, startDemo } from '../helpers/process.js';
import { repoRoot } from '../helpers/project.js';
import { signToken } from '../helpers/server.js';

// `NODE_ENV=production npm start`, with TLS_CERT/TLS_KEY and with TRUST_PROXY.
const cert = readFileSync(`${repoRoot}/test/fixtures/tls/cert.pem`);
const SECRET = 'production-secret-production-secret-0123';
const production = {
  NODE_ENV: 'production',
  WSGUARD_JWT_SECRET: SECRET,
  ALLOWED_HOSTS: '127.0.0.1',
  WSGUARD_METRICS_TOKEN: 'scrape-me-scrape-me',
};

let tlsDemo: Child;
let proxied: Child;
let tlsPort: number;
let plainPort: number;

beforeAll(async () => {
  [tlsPort, plainPort] = [await freePort(), await freePort()];
  tlsDemo = startDemo(tlsPort, {
    ...production,
    TLS_CERT: `${repoRoot}/test/fixtures/tls/cert.pem`,
    TLS_KEY: `${repoRoot}/test/fixtures/tls/key.pem`,
  });
  proxied = startDemo(plainPort, { ...production, TRUST_PROXY: '127.0.0.1,10.0.0.0/8' });
  await Promise.all([tlsDemo.waitFor(/listening on https:/), proxied.waitFor(/listening on http:/)]);
});
afterAll(async () => {
  await Promise.all([tlsDemo?.stop(), proxied?.stop()]);
});

/** Completes a TLS handshake limited to `max`, or says why it failed. */
function tlsHandshake(port: number, max: 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3') {
  return new Promise<string>((resolve) => {
    const s = tlsConnect({
      host: '127.0.0.1',
      port,
      ca: cert,
      minVersion: 'TLSv1',
      maxVersion: max,
      // Lets this client offer TLS 1.0/1.1 at all, so the refusal is the server's.
      ciphers: 'DEFAULT@SECLEVEL=0',
    });
    s.once('secureConnect', () => {
      resolve(`ok ${s.getProtocol()}`);
      s.destroy();
    });
    s.once('error', (e) => resolve(`refused ${(e as NodeJS.ErrnoException).code ?? e.message}`));
  });
}

function httpsGet(port: number, path: string, headers: Record<string, string> = {}) {
  return new Promise<number>((resolve, reject) => {
    const req = httpsRequest({ host: '127.0.0.1', port, path, ca: cert, headers, agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('demo in production (NODE_ENV=production npm start)', () => {
  it('with TLS_CERT/TLS_KEY serves wss:// and refuses TLS 1.0 and 1.1 handshakes', async () => {
    const { peer, csrf } = await connectAuthed(
      `wss://127.0.0.1:${tlsPort}/ws`,
      await signToken('prod', {}, SECRET),
      {
        ca: cert,
      },
    );
    peer.send({ id: 'p1', type: 'echo', payload: 'over tls', csrf });
    expect(await peer.next('ack')).toEqual({ type: 'ack', id: 'p1', result: 'over tls' });
    peer.close();
    expect(await tlsHandshake(tlsPort, 'TLSv1')).toMatch(/^refused/);
    expect(await tlsHandshake(tlsPort, 'TLSv1.1')).toMatch(/^refused/);
    expect(await tlsHandshake(tlsPort, 'TLSv1.2')).toBe('ok TLSv1.2');
  });

  it('refuses plain ws:// with 426, accepts it from a TRUST_PROXY proxy saying X-Forwarded-Proto: https', async () => {
    const url = `ws://127.0.0.1:${plainPort}/ws`;
    expect((await upgradeStatus(url)).status).toBe(426);
    const token = await signToken('behind-proxy', {}, SECRET);
    const headers = { 'X-Forwarded-Proto': 'https', 'X-Forwarded-For': '198.51.100.20' };
    const { peer, csrf } = await connectAuthed(url, token, { headers });
    peer.send({ id: 'x1', type: 'echo', payload: 1, csrf });
    expect(await peer.next('ack')).toEqual({ type: 'ack', id: 'x1', result: 1 });
    peer.close();
  });

  it('turns the dev shortcuts off and serves /metrics only with WSGUARD_METRICS_TOKEN', async () => {
    const headers = { 'X-Forwarded-Proto': 'https' };
    const url = `ws://127.0.0.1:${plainPort}/ws`;
    const dev = await connect(url, { headers });
    dev.send({ type: 'auth', token: 'test_token' });
    expect(await dev.closed).toEqual({ code: 4401, reason: 'WSG_AUTH_FAILED' });
    expect(await httpsGet(tlsPort, '/dev-token')).toBe(404);
    expect(await httpsGet(tlsPort, '/metrics')).toBe(401);
    expect(await httpsGet(tlsPort, '/metrics', { Authorization: 'Bearer scrape-me-scrape-me' })).toBe(200);
    expect(await httpsGet(tlsPort, '/healthz')).toBe(200);
  });

  it('without WSGUARD_METRICS_TOKEN there is no /metrics at all; without ALLOWED_HOSTS it will not start', async () => {
    const port = await freePort();
    const bare = startDemo(port, { ...production, WSGUARD_METRICS_TOKEN: '', TRUST_PROXY: '127.0.0.1' });
    try {
      await bare.waitFor(/listening on/);
      const res = await fetch(`http://127.0.0.1:${port}/metrics`);
      expect(res.status).toBe(404);
    } finally {
      await bare.stop();
    }
    const noHosts = startDemo(await freePort(), { ...production, ALLOWED_HOSTS: '' });
    await expect(noHosts.waitFor(/listening on/, 10_000)).rejects.toThrow(/allowedHosts/);
    await noHosts.stop();
  });
});
