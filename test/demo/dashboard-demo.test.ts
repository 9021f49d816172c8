import { afterEach, describe, expect, it } from 'vitest';
import { type Child, freePort, startDemo } from '../helpers/process.js';

// `npm start` (the built demo) with and without WSGUARD_ADMIN_TOKEN.
const TOKEN = 'demo-admin-token-demo-admin-token-0123456789';
let demo: Child | undefined;
afterEach(async () => {
  await demo?.stop();
  demo = undefined;
});

async function run(env: NodeJS.ProcessEnv = {}) {
  const port = await freePort();
  demo = startDemo(port, env);
  await demo.waitFor(/security dashboard/);
  return `http://127.0.0.1:${port}`;
}

describe('demo dashboard', () => {
  it('is absent (404) without WSGUARD_ADMIN_TOKEN', async () => {
    const base = await run();
    for (const path of ['/admin', '/admin/', '/admin/api/ticket']) {
      const res = await fetch(base + path, { headers: { authorization: `Bearer ${TOKEN}` } });
      expect(res.status, path).toBe(404);
    }
  });

  it('is served at /admin with WSGUARD_ADMIN_TOKEN: 401 without it, the page with it', async () => {
    const base = await run({ WSGUARD_ADMIN_TOKEN: TOKEN });
    expect((await fetch(`${base}/admin`)).status).toBe(401);
    const page = await fetch(`${base}/admin`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('id="sockets-open"');
    // The demo's own page and endpoint are unchanged.
    expect((await fetch(`${base}/`)).status).toBe(200);
  });

  it('refuses to start with a short WSGUARD_ADMIN_TOKEN', async () => {
    const port = await freePort();
    demo = startDemo(port, { WSGUARD_ADMIN_TOKEN: 'short' });
    await demo.waitFor(/at least 32 bytes/);
  });
});
