import type { AuditContext } from '../context.js';
import { httpGet, httpUrl, short } from '../net.js';
import type { CheckDef } from '../types.js';

/**
 * An admin dashboard that anyone can open shows who is connected and, worse, lets them act
 * (ban, revoke). Any 200 at /admin without credentials counts: wsguard's own dashboard answers
 * 401 there, and refuses to start without a token.
 */
export const dashboardChecks: CheckDef<AuditContext>[] = [
  {
    id: 'monitoring.dashboard-public',
    title: 'Admin dashboard open without a token',
    category: 'monitoring',
    severity: 'high',
    cwe: 'CWE-306',
    remediation:
      'Require a token for the admin page and its socket (wsguard: `dashboard: { token }`, 32+ bytes; 401 without it), or do not expose it.',
    plan: 'one GET /admin without credentials on the same host',
    async run(ctx) {
      const url = httpUrl(ctx.target, '/admin');
      const res = await httpGet(ctx, '/admin');
      const evidence = {
        sent: [`GET ${url.href} (no Authorization, no cookie)`],
        received: [`HTTP ${res.status} ${short(res.body, 120)}`],
      };
      if (res.status === 200)
        return {
          result: 'fail',
          detail: 'an admin page at /admin answered 200 without credentials',
          evidence,
        };
      if (res.status === 401 || res.status === 403)
        return { result: 'pass', detail: `protected: HTTP ${res.status}`, evidence };
      if (res.status >= 300 && res.status < 400)
        return {
          result: 'pass',
          detail: `redirects to ${short(String(res.headers.location), 80)}`,
          evidence,
        };
      return { result: 'skip', detail: `no dashboard at /admin (HTTP ${res.status})`, evidence };
    },
  },
];
