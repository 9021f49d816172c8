import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { SecureWebSocket } from '../../src/client/index.js';
import { upgradeStatus } from '../helpers/peer.js';
import { type Child, freePort, startChild, startDemo } from '../helpers/process.js';
import { repoRoot } from '../helpers/project.js';
import { hasRedis, type RedisServer, startRedis } from '../helpers/redis.js';
import { signToken, TEST_SECRET } from '../helpers/server.js';

// docs/deploy.md for real: Debian's nginx terminating TLS (the test certificate) in front of two
// demo processes in production mode sharing one Redis, with TRUST_PROXY set to nginx's address.

const NGINX = ['/usr/sbin/nginx', '/usr/bin/nginx'].find((p) => existsSync(p));
const reason = !NGINX
  ? 'nginx is not installed (apt-get install nginx)'
  : !hasRedis
    ? 'redis-server is not installed'
    : undefined;
if (reason) console.warn(`test/deploy/nginx.test.ts skipped: ${reason}`);

const ca = readFileSync(join(repoRoot, 'test/fixtures/tls/cert.pem'));
/** The `ws` client trusting the test certificate, as SecureWebSocket's WebSocket. */
class TrustingWebSocket extends WebSocket {
  constructor(url: string, protocols?: string | string[]) {
    super(url, protocols, { ca });
  }
}

/** The nginx site from docs/deploy.md, with this test's ports and certificate. */
function siteFromDocs(ports: { nginx: number; a: number; b: number }, dir: string): string {
  const doc = readFileSync(join(repoRoot, 'docs/deploy.md'), 'utf8');
  const site = /<!-- nginx:site -->\n```nginx\n([\s\S]*?)```/.exec(doc)?.[1];
  if (!site) throw new Error('docs/deploy.md has no nginx site');
  const replace = (text: string, from: string, to: string) => {
    if (!text.includes(from)) throw new Error(`docs/deploy.md no longer has ${from}`);
    return text.replace(from, to);
  };
  let s = replace(site, 'listen 443 ssl;', `listen 127.0.0.1:${ports.nginx} ssl;`);
  s = replace(s, 'server 127.0.0.1:3001', `server 127.0.0.1:${ports.a}`);
  s = replace(s, 'server 127.0.0.1:3002', `server 127.0.0.1:${ports.b}`);
  s = replace(s, '/etc/ssl/wsguard/cert.pem', join(dir, 'cert.pem'));
  return replace(s, '/etc/ssl/wsguard/key.pem', join(dir, 'key.pem'));
}

function httpsUpgrade(port: number, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({
      host: '127.0.0.1',
      port,
      path: '/ws',
      ca,
      headers: {
        Connection: 'Upgrade',
        Upgrade: 'websocket',
        'Sec-WebSocket-Version': '13',
        'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
        ...headers,
      },
    });
    req.on('upgrade', (res, socket) => {
      socket.destroy();
      resolve(res.statusCode ?? 0);
    });
    req.on('response', (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

describe.skipIf(reason !== undefined)('behind nginx (docs/deploy.md)', () => {
  let dir: string;
  let redis: RedisServer;
  let nginx: Child;
  const ports = { nginx: 0, a: 0, b: 0 };
  const demos: Record<'a' | 'b', Child | undefined> = { a: undefined, b: undefined };
  const env = () => ({
    NODE_ENV: 'production',
    WSGUARD_JWT_SECRET: TEST_SECRET,
    REDIS_URL: redis.url,
    TRUST_PROXY: '127.0.0.1',
    // Production requires the host names clients connect to (DNS rebinding): nginx's, and the
    // backends' own for the direct-connection check.
    ALLOWED_HOSTS: 'localhost,127.0.0.1',
  });
  const start = async (which: 'a' | 'b') => {
    const child = startDemo(ports[which], env());
    demos[which] = child;
    await child.waitFor(/listening/, 30_000);
  };
  const wssUrl = () => `wss://localhost:${ports.nginx}/ws`;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'wsguard-nginx-'));
    chmodSync(dir, 0o755); // nginx's workers drop root privileges
    for (const f of ['cert.pem', 'key.pem'])
      copyFileSync(join(repoRoot, 'test/fixtures/tls', f), join(dir, f));
    for (const d of ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(join(dir, d));
    ports.nginx = await freePort();
    ports.a = await freePort();
    ports.b = await freePort();
    redis = await startRedis();
    await Promise.all([start('a'), start('b')]);
    const conf = `daemon off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log;
events { worker_connections 512; }
http {
  access_log off;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
${siteFromDocs(ports, dir)}
}
`;
    writeFileSync(join(dir, 'nginx.conf'), conf);
    const check = spawnSync(
      NGINX as string,
      ['-t', '-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log')],
      {
        encoding: 'utf8',
      },
    );
    if (check.status !== 0) throw new Error(`nginx -t failed: ${check.stderr}`);
    nginx = startChild(
      NGINX as string,
      ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log')],
      {
        cwd: dir,
      },
    );
    for (let i = 0; i < 100; i++) {
      try {
        const r = await fetch(`http://127.0.0.1:${ports.a}/healthz`);
        if (r.ok && (await httpsUpgrade(ports.nginx, {}).catch(() => 0)) !== 0) break;
      } catch {
        // not yet
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }, 90_000);

  afterAll(async () => {
    await nginx?.stop();
    await Promise.all([demos.a?.stop(), demos.b?.stop()]);
    await redis?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('a SecureWebSocket through wss:// gets its acks; the plain backend refuses ws:// (TLS rule)', async () => {
    const socket = new SecureWebSocket({
      url: wssUrl(),
      authToken: await signToken('alice'),
      WebSocket: TrustingWebSocket,
      heartbeat: false,
    });
    try {
      expect(await socket.send({ type: 'echo', payload: { hi: 1 } })).toEqual({ hi: 1 });
    } finally {
      socket.close();
    }
    // Straight to a process, plain: not through the proxy, so X-Forwarded-Proto is absent and
    // production's requireTls answers 426.
    expect((await upgradeStatus(`ws://127.0.0.1:${ports.a}/ws`)).status).toBe(426);
  });

  it('restarting each process in turn loses no message of a SecureWebSocket sending through nginx', async () => {
    const socket = new SecureWebSocket({
      url: wssUrl(),
      authToken: await signToken('bob'),
      WebSocket: TrustingWebSocket,
      heartbeat: false,
      reconnect: { minDelayMs: 50, maxDelayMs: 500 },
    });
    const results: Promise<unknown>[] = [];
    let sending = true;
    const sender = (async () => {
      for (let i = 0; sending; i++) {
        results.push(socket.send({ type: 'echo', payload: { i } }));
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    try {
      for (const which of ['a', 'b'] as const) {
        await new Promise((r) => setTimeout(r, 300));
        await demos[which]?.stop();
        await new Promise((r) => setTimeout(r, 300));
        await start(which);
      }
      await new Promise((r) => setTimeout(r, 300));
      sending = false;
      await sender;
      const acked = await Promise.all(results);
      expect(acked.length).toBeGreaterThan(20);
      expect(acked).toEqual(acked.map((_, i) => ({ i })));
    } finally {
      socket.close();
    }
  }, 120_000);

  it('the client address comes from nginx: a spoofed X-Forwarded-For counts against the real one', async () => {
    // connectionsPerIp is 30 a minute (shared through Redis): if the spoofed addresses were
    // believed, each upgrade would count against a different IP and none would be refused.
    const statuses: number[] = [];
    for (let i = 0; i < 40 && !statuses.includes(429); i++) {
      statuses.push(
        await httpsUpgrade(ports.nginx, { 'X-Forwarded-For': `203.0.113.${i}`, 'X-Forwarded-Proto': 'http' }),
      );
    }
    expect(statuses).toContain(429);
    expect(statuses.length).toBeLessThanOrEqual(31);
    // Every upgrade before the limit was served as https (X-Forwarded-Proto from nginx, not the client's).
    expect(statuses.filter((s) => s === 426)).toEqual([]);
    const logs = `${demos.a?.output()}${demos.b?.output()}`;
    expect(logs).not.toContain('203.0.113.');
    expect(logs).toContain('"ip":"127.0.0.1"');
  }, 60_000);
});
