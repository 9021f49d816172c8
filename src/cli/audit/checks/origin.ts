import type { AuditContext } from '../context.js';
import { retryAfter, SkipError, short, ThrottledError, upgrade } from '../net.js';
import type { CheckDef, Severity } from '../types.js';

type Check = CheckDef<AuditContext>;

const REMEDIATION =
  'Compare the Origin header exactly with an allow-list of full origins (scheme, host, port) after URL normalisation; refuse `null` and anything that does not parse. Never match substrings, prefixes or suffixes. wsguard: `allowedOrigins`, or same-origin by default (403 WSG_ORIGIN_FORBIDDEN).';

function parts(ctx: AuditContext) {
  const u = new URL(ctx.origin);
  return {
    scheme: u.protocol.slice(0, -1),
    hostname: u.hostname,
    port: u.port ? `:${u.port}` : '',
    host: u.host,
  };
}

/** Sends one upgrade with `origin` (or none) and reads the status. */
async function attempt(ctx: AuditContext, origin: string | undefined) {
  const res = await upgrade(ctx, origin === undefined ? {} : { Origin: origin });
  if (res.status === 429 || res.status === 503 || (res.status === 403 && /BANNED|BLOCKED/.test(res.body)))
    throw new ThrottledError(
      `the server throttled the auditor: HTTP ${res.status} ${short(res.body, 80)}`,
      retryAfter(res.headers),
    );
  return {
    accepted: res.status === 101,
    evidence: {
      sent: [`GET ${ctx.url} (upgrade) Origin: ${origin ?? '(none)'}`],
      received: [`HTTP ${res.status}${res.body ? ` ${short(res.body, 120)}` : ''}`],
    },
  };
}

const LEGIT = 'origin.legitimate';

/** Whether the legitimate origin is accepted (read from origin.legitimate, or asked once). */
async function legitimateAccepted(ctx: AuditContext): Promise<boolean> {
  const known = ctx.memo.get(LEGIT) as boolean | undefined;
  if (known !== undefined) return known;
  const { accepted } = await attempt(ctx, ctx.origin);
  ctx.memo.set(LEGIT, accepted);
  return accepted;
}

/** A check that a browser page on `origin(ctx)` cannot open the socket. */
function foreign(
  id: string,
  title: string,
  origin: (ctx: AuditContext) => string,
  severity: Severity = 'high',
): Check {
  return {
    id,
    title,
    category: 'origin',
    severity,
    cwe: 'CWE-1385',
    remediation: REMEDIATION,
    plan: 'one upgrade request with a forged Origin header (the socket is closed at once if accepted)',
    async run(ctx) {
      const o = origin(ctx);
      const { accepted, evidence } = await attempt(ctx, o);
      if (accepted)
        return {
          result: 'fail',
          detail: `101 for the foreign origin ${o}: cross-site WebSocket hijacking`,
          evidence,
        };
      // A server that refuses the legitimate origin too (cookie auth without the cookie, an
      // allow-list not matching --origin) shows nothing about its origin check.
      if (!(await legitimateAccepted(ctx)))
        return {
          result: 'warn',
          severity: 'info',
          detail: `refused ${o}, but the legitimate origin ${ctx.origin} is refused too: inconclusive (set --origin, or the server needs credentials the audit lacks)`,
          evidence,
        };
      return { result: 'pass', detail: `refused ${o}: ${evidence.received[0]}`, evidence };
    },
  };
}

export const legit: Check = {
  id: 'origin.legitimate',
  title: 'The legitimate origin refused (set --origin)',
  category: 'origin',
  severity: 'info',
  cwe: null,
  remediation:
    'Pass the site that serves the client as --origin; when it is refused, the origin checks below only show that everything is refused.',
  plan: 'one upgrade request with Origin: --origin',
  async run(ctx) {
    const { accepted, evidence } = await attempt(ctx, ctx.origin);
    ctx.memo.set(LEGIT, accepted);
    return accepted
      ? { result: 'pass', detail: `101 for ${ctx.origin}`, evidence }
      : {
          result: 'warn',
          detail: `the legitimate origin ${ctx.origin} was refused (set --origin?)`,
          evidence,
        };
  },
};

export const missing: Check = {
  id: 'origin.missing',
  title: 'Upgrade without an Origin header accepted',
  category: 'origin',
  severity: 'info',
  cwe: 'CWE-1385',
  remediation:
    'Browsers always send Origin, so accepting none only admits non-browser clients (no CSWSH risk). If only browsers should connect, require it (wsguard: `requireOrigin: true`).',
  plan: 'one upgrade request without an Origin header',
  async run(ctx) {
    const { accepted, evidence } = await attempt(ctx, undefined);
    return accepted
      ? { result: 'warn', detail: 'accepted without Origin (non-browser clients can connect)', evidence }
      : { result: 'pass', detail: `refused without Origin: ${evidence.received[0]}`, evidence };
  },
};

export const originChecks: Check[] = [
  legit,
  foreign('origin.foreign', 'A foreign origin accepted', () => 'https://evil.example'),
  foreign('origin.null', 'The `null` origin accepted (sandboxed iframes, file: pages)', () => 'null'),
  missing,
  foreign(
    'origin.attacker-subdomain',
    'An attacker domain starting with the host accepted (prefix match)',
    (ctx) => {
      const p = parts(ctx);
      return `${p.scheme}://${p.hostname}.evil.example${p.port}`;
    },
  ),
  foreign(
    'origin.attacker-prefix',
    'An attacker domain ending with the host accepted (suffix match)',
    (ctx) => {
      const p = parts(ctx);
      return `${p.scheme}://evil-${p.hostname}${p.port}`;
    },
  ),
  foreign('origin.host-suffix', 'The host with a suffix accepted (substring match)', (ctx) => {
    const p = parts(ctx);
    return `${p.scheme}://${p.hostname}-evil.example${p.port}`;
  }),
  foreign(
    'origin.case-variant',
    'An upper-cased attacker origin accepted (case-insensitive substring match)',
    (ctx) => {
      const p = parts(ctx);
      return `${p.scheme.toUpperCase()}://${p.hostname.toUpperCase()}.EVIL.EXAMPLE${p.port}`;
    },
  ),
  foreign(
    'origin.other-port',
    'The host on another port accepted (host-only match)',
    (ctx) => {
      const p = parts(ctx);
      const port = Number(p.port.slice(1) || (p.scheme === 'https' ? 443 : 80));
      if (!p.hostname) throw new SkipError('no host in --origin');
      return `${p.scheme}://${p.hostname}:${port === 65535 ? port - 1 : port + 1}`;
    },
    'medium',
  ),
];
