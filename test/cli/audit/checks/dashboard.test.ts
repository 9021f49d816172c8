import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { setupWebSockets } from '../../../../src/server/index.js';
import { startServer, TEST_SECRET, type TestServer } from '../../../helpers/server.js';
import { audit, finding } from '../run-audit.js';

const servers: TestServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

const only = ['--only=monitoring.dashboard-public'];

describe('audit: monitoring.dashboard-public', () => {
  it('fails an admin page served without a token', async () => {
    // An app's own admin page, open to anyone.
    const http = createServer((req, res) => {
      res.writeHead(req.url === '/admin' ? 200 : 404, { 'content-type': 'text/html' });
      res.end(req.url === '/admin' ? '<h1>admin</h1><button>ban</button>' : '');
    });
    const wss = setupWebSockets(http, { auth: { jwt: { secret: TEST_SECRET } }, logger: false });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    const { port } = http.address() as AddressInfo;
    const run = await audit(`ws://127.0.0.1:${port}/ws`, only);
    await wss.close();
    await new Promise<void>((resolve) => http.close(() => resolve()));
    expect(finding(run.report, 'monitoring.dashboard-public')).toMatchObject({
      result: 'fail',
      severity: 'high',
    });
  });

  it("passes wsguard's dashboard (401 without the token)", async () => {
    const s = await startServer({ dashboard: { token: 'audit-admin-token-audit-admin-token-0123' } });
    servers.push(s);
    const run = await audit(s.url, only);
    expect(finding(run.report, 'monitoring.dashboard-public')).toMatchObject({
      result: 'pass',
      detail: 'protected: HTTP 401',
    });
  });

  it('skips a server without a dashboard (404)', async () => {
    const s = await startServer();
    servers.push(s);
    const run = await audit(s.url, only);
    expect(finding(run.report, 'monitoring.dashboard-public')).toMatchObject({ result: 'skip' });
  });
});
