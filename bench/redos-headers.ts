// npm run bench:headers: time vs length for the ReDoS-shaped upgrade headers of the hardening
// tests (a Sec-WebSocket-Protocol of spaces, a Sec-WebSocket-Extensions `\c` run), so "flat
// timing" is a measurement, not a test assert. Two views:
//  - end to end: a live server (Node's header limit raised to 256 KiB so long headers reach
//    wsguard and ws at all), median time to the HTTP answer per header length;
//  - parsers alone: wsguard's header checks and ws's subprotocol/extension parsers.
// Targets 127.0.0.1 only; takes a few seconds.

import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { checkHeaders, offeredProtocols } from '../src/server/gate/headers.js';
import type { UpgradeRequest } from '../src/server/socket.js';
import { rawHandshake } from '../test/helpers/raw-socket.js';
import { startServer } from '../test/helpers/server.js';

const require = createRequire(import.meta.url);
const wsLib = join(dirname(require.resolve('ws')), 'lib');
const wsSubprotocol = require(join(wsLib, 'subprotocol.js')) as { parse(h: string): Set<string> };
const wsExtension = require(join(wsLib, 'extension.js')) as { parse(h: string): unknown };

const LENGTHS = [1_000, 10_000, 60_000];
const SHAPES: Record<string, (n: number) => Record<string, string>> = {
  'protocol: a, <spaces> b': (n) => ({ 'Sec-WebSocket-Protocol': `a,${' '.repeat(n)}b` }),
  'protocol: a<spaces>b': (n) => ({ 'Sec-WebSocket-Protocol': `a${' '.repeat(n)}b` }),
  'extensions: x="\\c\\c...': (n) => ({
    'Sec-WebSocket-Extensions': `permessage-deflate; x="${'\\c'.repeat(n / 2)}`,
  }),
  'extensions: x=\\c\\c... (unquoted)': (n) => ({
    'Sec-WebSocket-Extensions': `permessage-deflate; x=${'\\c'.repeat(n / 2)}`,
  }),
};

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

async function endToEnd() {
  const srv = await startServer(
    { limits: false, anomaly: false, perMessageDeflate: true, messages: { echo: z.unknown() } },
    { http: { maxHeaderSize: 256 * 1024 } },
  );
  console.log('end to end (median of 15, ms to the HTTP answer; status)');
  try {
    for (const [name, make] of Object.entries(SHAPES)) {
      const cells: string[] = [];
      for (const n of LENGTHS) {
        const times: number[] = [];
        let status = 0;
        for (let i = 0; i < 15; i++) {
          const t = performance.now();
          const { raw, answer } = await rawHandshake(srv.port, { headers: make(n) });
          times.push(performance.now() - t);
          status = answer.status;
          raw.destroy();
        }
        cells.push(`${(n / 1000).toFixed(0)}k: ${median(times).toFixed(2)} ms (${status})`);
      }
      console.log(`  ${name.padEnd(36)} ${cells.join('   ')}`);
    }
  } finally {
    await srv.close();
  }
}

function parsers() {
  console.log('\nparsers alone (median of 50, µs per call)');
  const lengths = [...LENGTHS, 600_000];
  const req = (headers: Record<string, string>): UpgradeRequest => ({
    url: '/ws',
    method: 'GET',
    headers: {
      upgrade: 'websocket',
      ...Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v])),
    },
    remoteAddress: '127.0.0.1',
    encrypted: false,
  });
  const rows: [string, (n: number) => unknown][] = [
    [
      'wsguard checkHeaders (protocol)',
      (n) => checkHeaders(req({ 'sec-websocket-protocol': `a,${' '.repeat(n)}b` })),
    ],
    [
      'wsguard offeredProtocols',
      (n) => offeredProtocols(req({ 'sec-websocket-protocol': `a,${' '.repeat(n)}b` })),
    ],
    ['ws subprotocol.parse', (n) => wsSubprotocol.parse(`a,${' '.repeat(n)}b`)],
    [
      'ws extension.parse (\\c run)',
      (n) => wsExtension.parse(`permessage-deflate; x="${'\\c'.repeat(n / 2)}"`),
    ],
  ];
  for (const [name, fn] of rows) {
    const cells: string[] = [];
    for (const n of lengths) {
      const times: number[] = [];
      for (let i = 0; i < 50; i++) {
        const t = performance.now();
        try {
          fn(n);
        } catch {
          // A refusal is an answer too: the time to it is what counts.
        }
        times.push((performance.now() - t) * 1000);
      }
      cells.push(`${(n / 1000).toFixed(0)}k: ${median(times).toFixed(0)}`);
    }
    console.log(`  ${name.padEnd(36)} ${cells.join('   ')}`);
  }
}

await endToEnd();
parsers();
