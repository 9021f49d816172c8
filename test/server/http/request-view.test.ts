import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { toRequestView } from '../../../src/server/http/request-view.js';
import type { UpgradeRequest } from '../../../src/server/socket.js';

let close: (() => Promise<void>) | undefined;
afterEach(async () => {
  await close?.();
  close = undefined;
});

/** Sends one real request to a real server on 127.0.0.1 and returns the server's view of it. */
async function viewOf(path: string, headers: Record<string, string>): Promise<UpgradeRequest> {
  let view: UpgradeRequest | undefined;
  const srv = createServer((req, res) => {
    view = toRequestView(req);
    res.end();
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  close = () => new Promise<void>((r) => srv.close(() => r()));
  const { port } = srv.address() as AddressInfo;
  await new Promise<void>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'POST', headers }, (res) => {
      res.resume();
      res.on('end', resolve);
    });
    req.on('error', reject);
    req.end();
  });
  if (!view) throw new Error('no request seen');
  return view;
}

describe('toRequestView', () => {
  it('reads URL, method, headers and the peer address of a plain-HTTP request', async () => {
    const view = await viewOf('/admin?x=1', { Origin: 'https://app.example' });
    expect(view).toMatchObject({
      url: '/admin?x=1',
      method: 'POST',
      remoteAddress: '127.0.0.1',
      encrypted: false,
    });
    expect(view.headers.origin).toBe('https://app.example');
    expect(view).not.toHaveProperty('httpVersion');
  });
});
