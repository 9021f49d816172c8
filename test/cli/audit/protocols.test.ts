import { createClient } from 'graphql-ws';
import { io as ioClient } from 'socket.io-client';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { auditReportSchema, toSarif } from '../../../src/cli/audit/index.js';
import { PROTOCOL_GENERIC } from '../../../src/cli/audit/protocols/index.js';
import { startBareEcho } from '../../fixtures/bare-echo.js';
import { startGraphqlWs } from '../../fixtures/graphql-ws-server.js';
import { startNoRateLimit, startOriginAllowList } from '../../fixtures/guarded.js';
import type { FixtureServer } from '../../fixtures/raw.js';
import { startSocketIo } from '../../fixtures/socketio-server.js';
import { startCookieOnly } from '../../fixtures/verdicts.js';
import { type AuditRun, audit, finding } from './run-audit.js';

const APP = 'https://app.example.com';
const secure = { origin: APP, token: 'test_token' };

const ids = (run: AuditRun, result: string) =>
  run.report.findings
    .filter((f) => f.result === result)
    .map((f) => f.id)
    .sort();

/** The wsguard-only checks are n/a, every generic one ran, and none broke. */
function expectProtocolRun(run: AuditRun, name: string) {
  expect(auditReportSchema.safeParse(run.report).success).toBe(true);
  expect(run.report.protocol).toMatchObject({ name, how: 'detected' });
  for (const f of run.report.findings)
    if (PROTOCOL_GENERIC.has(f.id)) expect(f.result, `${f.id}: ${f.detail}`).not.toBe('n/a');
    else
      expect(f, f.id).toMatchObject({
        result: 'n/a',
        detail: `n/a: a wsguard-only check; the target speaks ${name}`,
      });
  for (const id of [
    'csrf.missing',
    'auth.alg-none',
    'session.expiry',
    'rate-limit.burst',
    'monitoring.metrics-public',
  ])
    expect(finding(run.report, id).result, id).toBe('n/a');
  expect(ids(run, 'error')).toEqual([]);
  expect(run.report.summary.byResult['n/a']).toBe(run.report.findings.length - PROTOCOL_GENERIC.size + 2);
  expect(run.out).toContain(`protocol: ${name} (detected: `);
  expect(run.markdown).toMatch(
    new RegExp(`^- Protocol: ${name.replace('.', '\\.')} \\(detected: .*; wsguard-only checks are n/a$`, 'm'),
  );
  expect(run.markdown).toContain(`Not applicable to ${name} (wsguard-only, \`n/a\`): `);
  expect(run.markdown).not.toMatch(/^\| `[a-z.-]+` \| n\/a \|/m);
  const sarif = toSarif(run.report) as {
    runs: { properties: { protocol: { name: string } }; tool: { driver: { rules: { id: string }[] } } }[];
  };
  expect(sarif.runs[0]?.properties.protocol.name).toBe(name);
  // No rule for a check that did not run.
  expect(sarif.runs[0]?.tool.driver.rules.map((r) => r.id)).toEqual(
    run.report.findings.filter((f) => f.result !== 'n/a').map((f) => f.id),
  );
}

const CSWSH = [
  'origin.foreign',
  'origin.null',
  'origin.attacker-subdomain',
  'origin.attacker-prefix',
  'origin.host-suffix',
  'origin.case-variant',
];

describe('--protocol=auto against servers that are not wsguard', () => {
  let srv: FixtureServer | undefined;
  afterEach(async () => {
    await srv?.close();
    srv = undefined;
  });

  it('a plain ws echo server: raw; no authentication (critical), CSWSH (high), no size limit; wsguard checks n/a', async () => {
    srv = await startBareEcho();
    const run = await audit(srv.url);
    expectProtocolRun(run, 'raw');
    // The echoed auth message carried --token: the report names the flag, never the token.
    expect(run.report.protocol.evidence).toBe(
      'no known protocol: auth with --token answered reply {"type":"auth","token":"<--token>"}',
    );
    expect(JSON.stringify(run.report)).not.toContain('test_token');
    expect(finding(run.report, 'auth.no-token')).toMatchObject({
      result: 'fail',
      severity: 'critical',
      cwe: 'CWE-306',
    });
    for (const id of CSWSH)
      expect(finding(run.report, id), id).toMatchObject({ result: 'fail', severity: 'high' });
    expect(finding(run.report, 'input.size-64k')).toMatchObject({ result: 'fail', severity: 'low' });
    expect(finding(run.report, 'input.size-1m')).toMatchObject({ result: 'fail', severity: 'medium' });
    expect(finding(run.report, 'input.binary')).toMatchObject({ result: 'fail', severity: 'low' });
    expect(finding(run.report, 'input.unknown-type')).toMatchObject({ result: 'fail', severity: 'low' });
    for (const id of ['errors.stack-trace', 'errors.file-path', 'errors.exception', 'errors.version'])
      expect(finding(run.report, id).result, id).toBe('pass');
    expect(run.code).toBe(1);
  });

  it('a default Socket.IO server: detected by its polling handshake; no authentication, CSWSH, 64 KiB read in full, 1 MiB closed 1009', async () => {
    srv = await startSocketIo();
    const run = await audit(srv.url);
    expectProtocolRun(run, 'socket.io');
    expect(run.report.protocol).toMatchObject({
      evidence: expect.stringMatching(
        /^GET \/socket\.io\/\?EIO=4&transport=polling answered HTTP 200 0\{"sid":/,
      ),
      endpoint: expect.stringMatching(/^ws:\/\/127\.0\.0\.1:\d+\/socket\.io\/\?EIO=4&transport=websocket$/),
    });
    expect(finding(run.report, 'auth.no-token')).toMatchObject({
      result: 'fail',
      severity: 'critical',
      detail: expect.stringMatching(/^handled without a token: reply 43\d+\[\{"ok":true\}\]$/),
      evidence: {
        sent: [
          '(socket.io opening without credentials)',
          expect.stringMatching(/^42\d+\["echo",\{"audit":"no-token"\}\]$/),
        ],
        received: [
          expect.stringMatching(/^0\{"sid":/),
          expect.stringMatching(/^40\{"sid":/),
          expect.any(String),
        ],
      },
    });
    for (const id of CSWSH)
      expect(finding(run.report, id), id).toMatchObject({
        result: 'fail',
        severity: 'high',
        cwe: 'CWE-1385',
      });
    expect(finding(run.report, 'origin.other-port')).toMatchObject({ result: 'fail', severity: 'medium' });
    // maxHttpBufferSize (1e6) is Engine.IO's frame limit: 64 KiB passes it, 1 MiB does not.
    expect(finding(run.report, 'input.size-64k')).toMatchObject({ result: 'fail', severity: 'low' });
    expect(finding(run.report, 'input.size-1m')).toMatchObject({
      result: 'pass',
      detail: 'a 1 MiB message refused: closed 1009',
    });
    // Socket.IO closes the connection on a packet it cannot parse.
    for (const id of ['input.binary', 'input.invalid-json'])
      expect(finding(run.report, id), id).toMatchObject({
        result: 'pass',
        detail: expect.stringMatching(/refused: closed 10\d\d$/),
      });
    expect(finding(run.report, 'input.deep-nesting')).toMatchObject({ result: 'fail', severity: 'medium' });
    for (const id of ['errors.stack-trace', 'errors.file-path', 'errors.exception', 'errors.version'])
      expect(finding(run.report, id).result, id).toBe('pass');
    // No authentication, so no deadline for it to check.
    expect(finding(run.report, 'auth.timeout')).toMatchObject({
      result: 'skip',
      detail: 'the server handles messages without any authentication (auth.no-token)',
    });
    expect(run.code).toBe(1);
    // The server still serves a real client afterwards.
    const client = ioClient(srv.url, { transports: ['websocket'], reconnection: false });
    try {
      await expect(client.timeout(2000).emitWithAck('echo', { text: 'hi' })).resolves.toEqual({ ok: true });
    } finally {
      client.close();
    }
  });

  it('a Socket.IO server with an exact origin check and a token middleware: both seen; connect_error 44 without the token', async () => {
    srv = await startSocketIo({ secure });
    const run = await audit(srv.url, [`--origin=${APP}`, '--auth-wait=2']);
    expectProtocolRun(run, 'socket.io');
    expect(finding(run.report, 'auth.no-token')).toMatchObject({
      result: 'pass',
      detail: 'the socket.io opening without credentials was refused: 44{"message":"unauthorized"}',
    });
    for (const id of [...CSWSH, 'origin.other-port', 'origin.missing'])
      expect(finding(run.report, id), id).toMatchObject({
        result: 'pass',
        detail: expect.stringMatching(/: HTTP 400/),
      });
    expect(finding(run.report, 'origin.legitimate').result).toBe('pass');
    // An Engine.IO connection that never connects a namespace lives for connectTimeout (45 s).
    expect(finding(run.report, 'auth.timeout')).toMatchObject({
      result: 'fail',
      severity: 'medium',
      detail: 'a socket that never authenticated was still open after 2000 ms',
      evidence: { sent: ['(nothing after the upgrade: no socket.io opening)'], received: [] },
    });
    expect(ids(run, 'fail')).toEqual(['auth.timeout', 'input.deep-nesting', 'input.size-64k']);
    expect(run.report.summary.bySeverity).toMatchObject({ critical: 0, high: 0 });
    expect(run.code).toBe(0);
  });

  it('a graphql-ws server without onConnect: detected by its subprotocol; no authentication, CSWSH, no size limit; protocol errors close 4400', async () => {
    srv = await startGraphqlWs();
    const run = await audit(srv.url);
    expectProtocolRun(run, 'graphql-ws');
    expect(run.report.protocol.evidence).toBe(
      'offered wsguard-audit-probe, graphql-transport-ws: the server chose graphql-transport-ws',
    );
    expect(finding(run.report, 'auth.no-token')).toMatchObject({
      result: 'fail',
      severity: 'critical',
      detail: expect.stringMatching(
        /^handled without a token: reply \{"id":"audit-[^"]+","type":"next","payload":\{"data":\{"__typename":"Query"\}\}\}$/,
      ),
    });
    for (const id of CSWSH)
      expect(finding(run.report, id), id).toMatchObject({ result: 'fail', severity: 'high' });
    expect(finding(run.report, 'input.size-64k')).toMatchObject({ result: 'fail', severity: 'low' });
    expect(finding(run.report, 'input.size-1m')).toMatchObject({ result: 'fail', severity: 'medium' });
    for (const id of ['input.binary', 'input.invalid-json', 'input.unknown-type'])
      expect(finding(run.report, id), id).toMatchObject({
        result: 'pass',
        detail: expect.stringMatching(/refused: closed 4400 Invalid message received$/),
      });
    // GraphQL validation errors are the protocol's answers, not leaks.
    for (const id of ['errors.stack-trace', 'errors.file-path', 'errors.exception', 'errors.version'])
      expect(finding(run.report, id).result, id).toBe('pass');
    expect(run.code).toBe(1);
    const client = createClient({ url: srv.url, webSocketImpl: WebSocket, retryAttempts: 0, lazy: true });
    try {
      const result = await new Promise((resolve, reject) => {
        client.subscribe({ query: '{ hello }' }, { next: resolve, error: reject, complete: () => {} });
      });
      expect(result).toEqual({ data: { hello: 'world' } });
    } finally {
      await client.dispose();
    }
  });

  it('a graphql-ws server with onConnect, an origin check and maxPayload: close 4403 without the token, 1009 for the big frames', async () => {
    srv = await startGraphqlWs({ secure });
    const run = await audit(srv.url, [`--origin=${APP}`]);
    expectProtocolRun(run, 'graphql-ws');
    expect(finding(run.report, 'auth.no-token')).toMatchObject({
      result: 'pass',
      detail: 'the graphql-ws opening without credentials was refused: closed 4403 Forbidden',
    });
    for (const id of [...CSWSH, 'origin.other-port']) expect(finding(run.report, id).result, id).toBe('pass');
    // connectionInitWaitTimeout: 3 s by default, close 4408.
    expect(finding(run.report, 'auth.timeout')).toMatchObject({
      result: 'pass',
      detail: expect.stringMatching(/^closed 4408 Connection initialisation timeout after \d+ ms$/),
    });
    for (const id of ['input.size-64k', 'input.size-1m'])
      expect(finding(run.report, id), id).toMatchObject({
        result: 'pass',
        detail: expect.stringMatching(/refused: closed 1009$/),
      });
    expect(ids(run, 'fail')).toEqual(['input.deep-nesting']);
    expect(run.code).toBe(0);
  });
});

describe('--protocol: detection of wsguard and the forced choice', () => {
  let srv: FixtureServer | undefined;
  afterEach(async () => {
    await srv?.close();
    srv = undefined;
  });

  it('wsguard is detected by auth_ok, and every check applies (none n/a)', async () => {
    srv = await startNoRateLimit();
    const run = await audit(srv.url, ['--only=transport,auth.no-token,csrf,rate-limit.burst', '--burst=50']);
    expect(run.report.protocol).toMatchObject({
      name: 'wsguard',
      how: 'detected',
      evidence: 'auth with --token answered auth_ok',
      endpoint: srv.url,
    });
    expect(ids(run, 'n/a')).toEqual([]);
    expect(finding(run.report, 'csrf.missing').result).toBe('pass');
    expect(finding(run.report, 'rate-limit.burst')).toMatchObject({ result: 'fail', severity: 'medium' });
    expect(run.markdown).toContain('- Protocol: wsguard (detected: auth with --token answered auth\\_ok)');
  });

  it("a wsguard upgrade refusal names its code: detected as wsguard even when the auditor's origin is refused", async () => {
    srv = await startOriginAllowList();
    const run = await audit(srv.url, ['--only=origin.legitimate']);
    expect(run.report.protocol).toMatchObject({
      name: 'wsguard',
      evidence: expect.stringContaining('WSG_ORIGIN_FORBIDDEN'),
    });
  });

  it('an endpoint refusing every upgrade is raw, saying why and how to choose', async () => {
    srv = await startCookieOnly();
    const run = await audit(srv.url, ['--only=origin']);
    expect(run.report.protocol).toMatchObject({
      name: 'raw',
      evidence: expect.stringMatching(
        /^undetermined \(HTTP 401 from .*\): treated as raw; pass --protocol to choose$/,
      ),
    });
    expect(finding(run.report, 'origin.foreign')).toMatchObject({ result: 'warn', severity: 'info' });
  });

  it('--protocol forces the framing: wsguard probes against the echo server, Socket.IO from its bare URL', async () => {
    srv = await startBareEcho();
    const forced = await audit(srv.url, ['--protocol=wsguard', '--only=auth.no-token,csrf']);
    expect(forced.report.protocol).toEqual({
      name: 'wsguard',
      how: 'forced',
      evidence: '--protocol',
      endpoint: srv.url,
    });
    expect(finding(forced.report, 'csrf.missing')).toMatchObject({ result: 'fail', severity: 'medium' });
    await srv.close();
    srv = await startSocketIo();
    const sio = await audit(srv.url, ['--protocol=socket.io', '--only=auth.no-token,csrf']);
    expect(sio.report.protocol).toMatchObject({
      name: 'socket.io',
      how: 'forced',
      endpoint: expect.stringMatching(/\/socket\.io\/\?EIO=4&transport=websocket$/),
    });
    expect(finding(sio.report, 'auth.no-token')).toMatchObject({ result: 'fail', severity: 'critical' });
    expect(finding(sio.report, 'csrf.missing').result).toBe('n/a');
    expect(sio.markdown).toContain('- Protocol: socket.io (forced: --protocol); wsguard-only checks are n/a');
  });
});
