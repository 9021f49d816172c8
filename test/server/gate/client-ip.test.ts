import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { parseHop } from '../../../src/server/gate/client-ip.js';
import { upgradeStatus } from '../../helpers/peer.js';
import { expectStillServing } from '../../helpers/served.js';
import { startServer, type TestServer } from '../../helpers/server.js';

const echo = { messages: { echo: z.unknown() }, handlers: { echo: (_c: unknown, p: unknown) => p } };

let srv: TestServer | undefined;
afterEach(async () => {
  await srv?.close();
  srv = undefined;
});

const via = (xff: string) => ({ 'X-Forwarded-For': xff });

describe('X-Forwarded-For behind a trusted proxy', () => {
  it('parses ports and skips junk: clients behind the proxy keep their own limit keys; junk logged once', async () => {
    const lines: string[] = [];
    const logger = pino(
      {},
      new Writable({
        write(c, _e, done) {
          lines.push(String(c));
          done();
        },
      }),
    );
    srv = await startServer({
      ...echo,
      logger,
      trustProxy: ['127.0.0.1'],
      limits: { connectionsPerIp: { max: 2, windowMs: 60_000 } },
    });
    // Eight clients, each twice, as proxies that add ports or junk write them: under the old
    // parse every one was the proxy's 127.0.0.1, one key, refused from the third upgrade.
    const forms = [
      '203.0.113.1:5555',
      '203.0.113.2:80',
      '[2001:db8::1]:443',
      '[2001:db8:0:2::2]',
      '"203.0.113.3"',
      '203.0.113.4, unknown',
      '203.0.113.5:1, _hidden',
      '203.0.113.6, 127.0.0.1:9000',
    ];
    for (const xff of forms) {
      for (let i = 0; i < 2; i++) expect((await upgradeStatus(srv.url, via(xff))).status, xff).toBe(101);
    }
    // The same client on another source port is the same key: its third upgrade is refused.
    expect((await upgradeStatus(srv.url, via('203.0.113.1:6666'))).status).toBe(429);
    const warnings = lines.filter((l) => l.includes('proxy.invalid_hop'));
    expect(warnings.length).toBe(1);
    await expectStillServing(srv.url, { headers: via('198.51.100.9') });
  });

  it('parseHop reads addresses with ports, brackets and quotes and refuses junk', () => {
    expect(parseHop(' 1.2.3.4:80 ')).toBe('1.2.3.4');
    expect(parseHop('[::1]:443')).toBe('::1');
    expect(parseHop('::ffff:10.0.0.1')).toBe('10.0.0.1');
    for (const junk of [
      'unknown',
      '',
      '1.2.3.4:x',
      '[::1',
      '[::1]x',
      '999.1.1.1',
      `1.1.1.1${' '.repeat(80)}x`,
    ]) {
      expect(parseHop(junk)).toBe('');
    }
  });
});
