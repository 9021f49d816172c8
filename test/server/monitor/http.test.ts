import { request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { connect } from '../../helpers/peer.js';
import { expectStillServing } from '../../helpers/served.js';
import { startServer, type TestServer } from '../../helpers/server.js';

const echo = { messages: { echo: z.unknown() }, handlers: { echo: (_c: unknown, p: unknown) => p } };

let srv: TestServer | undefined;
afterEach(async () => {
  await srv?.close();
  srv = undefined;
});

/** One GET over its own connection (no keep-alive), status, headers and body. */
function get(port: number, path: string, headers: Record<string, string> = {}) {
  return new Promise<{ status: number; headers: Record<string, unknown>; body: string }>(
    (resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path, headers, agent: false }, (res) => {
        let body = '';
        res.on('data', (c) => {
          body += c;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      });
      req.on('error', reject);
      req.end();
    },
  );
}

const series = (text: string, name: string) => text.split('\n').filter((l) => l.startsWith(`${name}{`));

describe('/metrics and /healthz', () => {
  it('closes with codes a client picks do not add series: unknown codes count as code="other"', async () => {
    srv = await startServer({ ...echo, limits: { connectionsPerIp: false } });
    const n = 40;
    for (let i = 0; i < n; i++) {
      const peer = await connect(srv.url);
      peer.ws.close(3000 + i * 37);
      await peer.closed;
    }
    // The server counts a close when its side of the socket ends; wait until all 40 are in.
    while (srv.wss.stats().socketsOpen > 0) await new Promise((r) => setTimeout(r, 10));
    const { status, body } = await get(srv.port, '/metrics');
    expect(status).toBe(200);
    const closes = series(body, 'wsguard_closes_total');
    expect(closes).toContain(`wsguard_closes_total{code="other"} ${n}`);
    for (const line of closes) expect(line).toMatch(/^wsguard_closes_total\{code="(1\d{3}|4\d{3}|other)"\} /);
    expect(closes.length).toBe(1);
    for (const line of series(body, 'wsguard_rejections_total')) {
      expect(line).toMatch(/^wsguard_rejections_total\{code="(WSG_[A-Z_]+|other)"\} /);
    }
    await expectStillServing(srv.url);
  });

  it('rate limits /metrics and /healthz per address with 429 and Retry-After; WebSockets unaffected', async () => {
    srv = await startServer({ ...echo, http: { rateLimit: { rate: 1, burst: 5 } } });
    const answers = [];
    for (let i = 0; i < 12; i++) answers.push(await get(srv.port, i % 2 ? '/metrics' : '/healthz'));
    const refused = answers.filter((a) => a.status === 429);
    expect(answers.slice(0, 5).every((a) => a.status === 200)).toBe(true);
    expect(refused.length).toBeGreaterThanOrEqual(6);
    for (const r of refused) {
      expect(Number(r.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      expect(r.body).toBe('Too Many Requests\n');
    }
    await expectStillServing(srv.url);
  });

  it('answers concurrent scrapes from one rendering, the same text', async () => {
    const s = await startServer(echo);
    srv = s;
    const bodies = await Promise.all([1, 2, 3, 4].map(() => get(s.port, '/metrics')));
    expect(bodies.every((b) => b.status === 200 && b.body === bodies[0]?.body)).toBe(true);
  });
});
