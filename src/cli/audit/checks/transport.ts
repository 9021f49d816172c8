import { isIP } from 'node:net';
import { type PeerCertificate, connect as tlsConnect } from 'node:tls';
import type { AuditContext } from '../context.js';
import { SkipError } from '../net.js';
import type { CheckDef } from '../types.js';

type Check = CheckDef<AuditContext>;

const header = (ctx: AuditContext, name: string) => {
  const v = ctx.preflight?.headers[name];
  return Array.isArray(v) ? v.join(', ') : v;
};

const preflightOf = (ctx: AuditContext) => {
  if (!ctx.preflight) throw new SkipError('no preflight answer');
  return ctx.preflight;
};

export const plainWs: Check = {
  id: 'transport.plain-ws',
  title: 'Plain ws:// accepted on a non-loopback host',
  category: 'transport',
  severity: 'high',
  cwe: 'CWE-319',
  remediation:
    'Serve the endpoint over wss:// only (TLS at the app or the proxy) and refuse plain upgrades, e.g. wsguard `requireTls: true` (426 WSG_TLS_REQUIRED).',
  plan: 'reads the answer to the first upgrade (no extra request)',
  async run(ctx) {
    const pre = preflightOf(ctx);
    const sent = [`GET ${ctx.url} (upgrade)`];
    const received = [`HTTP ${pre.status}`];
    if (ctx.target.protocol === 'wss:')
      return { result: 'pass', detail: 'the URL is wss://', evidence: { sent } };
    if (ctx.loopback)
      return {
        result: 'pass',
        detail: 'plain ws:// on a loopback address (local traffic); audit the public URL too',
        evidence: { sent, received },
      };
    return pre.status === 101
      ? {
          result: 'fail',
          detail: `plain ws:// upgrade accepted on ${ctx.target.host}`,
          evidence: { sent, received },
        }
      : pre.status === 426
        ? {
            result: 'pass',
            detail: `plain ws:// upgrade refused with HTTP ${pre.status}`,
            evidence: { sent, received },
          }
        : {
            // Refused for another reason (origin, ban, auth): says nothing about plain ws://.
            result: 'skip',
            detail: `the first upgrade was refused with HTTP ${pre.status}, not 426: inconclusive`,
            evidence: { sent, received },
          };
  },
};

function tlsInfo(ctx: AuditContext) {
  return new Promise<{ authorized: boolean; error?: string; protocol: string | null; cert: PeerCertificate }>(
    (resolve, reject) => {
      const socket = tlsConnect({
        host: ctx.target.hostname,
        port: Number(ctx.target.port || 443),
        ...(isIP(ctx.target.hostname) ? {} : { servername: ctx.target.hostname }),
        rejectUnauthorized: false,
        timeout: ctx.bounds.timeoutMs * 2,
      });
      socket.once('secureConnect', () => {
        resolve({
          authorized: socket.authorized,
          ...(socket.authorizationError ? { error: String(socket.authorizationError) } : {}),
          protocol: socket.getProtocol(),
          cert: socket.getPeerCertificate(),
        });
        socket.end();
      });
      socket.once('timeout', () => socket.destroy(new Error('TLS handshake timed out')));
      socket.once('error', reject);
    },
  );
}

export const tls: Check = {
  id: 'transport.tls',
  title: 'Untrusted certificate or TLS older than 1.2 (wss:// only)',
  category: 'transport',
  severity: 'high',
  cwe: 'CWE-295',
  remediation:
    'Use a certificate from a trusted CA that matches the host name and is not about to expire; allow TLS 1.2 and 1.3 only.',
  plan: 'one TLS handshake to read the certificate and the negotiated version (wss:// only)',
  async run(ctx) {
    if (ctx.target.protocol !== 'wss:') throw new SkipError('the URL is ws://: no TLS to check');
    const info = await tlsInfo(ctx);
    const sent = [`TLS ClientHello to ${ctx.target.host}`];
    const validTo = info.cert.valid_to ? new Date(info.cert.valid_to) : undefined;
    const days = validTo ? Math.floor((validTo.getTime() - Date.now()) / 86_400_000) : undefined;
    const received = [
      `protocol ${info.protocol ?? 'unknown'}`,
      `certificate ${info.authorized ? 'trusted' : `not trusted (${info.error ?? 'unknown'})`}`,
      ...(validTo ? [`valid to ${validTo.toISOString()} (${days} days)`] : []),
    ];
    if (!info.authorized)
      return {
        result: 'fail',
        detail: `certificate not trusted: ${info.error ?? 'unknown'}`,
        evidence: { sent, received },
      };
    if (info.protocol === 'TLSv1' || info.protocol === 'TLSv1.1')
      return { result: 'fail', detail: `negotiated ${info.protocol}`, evidence: { sent, received } };
    if (days !== undefined && days < 14)
      return {
        result: 'warn',
        severity: 'medium',
        detail: `certificate expires in ${days} days`,
        evidence: { sent, received },
      };
    return {
      result: 'pass',
      detail: `${info.protocol}, trusted certificate (${days} days left)`,
      evidence: { sent, received },
    };
  },
};

export const deflate: Check = {
  id: 'transport.permessage-deflate',
  title: 'permessage-deflate negotiated',
  category: 'transport',
  severity: 'low',
  cwe: 'CWE-409',
  remediation:
    'Leave compression off unless measured to be needed (wsguard: `perMessageDeflate: false`, the default); when on, bound the inflated size and never mix secrets with attacker-controlled text in one message.',
  plan: 'reads the answer to the first upgrade, which offered permessage-deflate',
  async run(ctx) {
    const pre = preflightOf(ctx);
    const ext = header(ctx, 'sec-websocket-extensions');
    const evidence = {
      sent: ['Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits'],
      received: [`HTTP ${pre.status}`, ...(ext ? [`Sec-WebSocket-Extensions: ${ext}`] : [])],
    };
    if (pre.status !== 101) throw new SkipError(`the upgrade was answered ${pre.status}`);
    return ext?.includes('permessage-deflate')
      ? {
          result: 'warn',
          detail:
            'compression negotiated: memory cost per socket, and CRIME-style leaks when secrets share messages',
          evidence,
        }
      : { result: 'pass', detail: 'compression offered by the client and declined', evidence };
  },
};

const VERSIONED = /\d+\.\d+/;

export const serverHeader: Check = {
  id: 'transport.version-header',
  title: 'Server software or version leaked in headers',
  category: 'transport',
  severity: 'low',
  cwe: 'CWE-200',
  remediation:
    'Drop `Server` and `X-Powered-By` headers (or strip the version) at the app and the proxy: a version tells an attacker which exploits to try.',
  plan: 'reads the headers of the first upgrade answer',
  async run(ctx) {
    preflightOf(ctx);
    // Not `Via`: its version is the HTTP version, not the software's.
    const found = ['server', 'x-powered-by', 'x-aspnet-version']
      .map((n) => [n, header(ctx, n)] as const)
      .filter((p): p is readonly [string, string] => p[1] !== undefined);
    const received = found.map(([n, v]) => `${n}: ${v}`);
    const evidence = { sent: [`GET ${ctx.url} (upgrade)`], received };
    if (found.some(([, v]) => VERSIONED.test(v)))
      return { result: 'fail', detail: `versioned header: ${received.join('; ')}`, evidence };
    if (found.length)
      return { result: 'warn', severity: 'info', detail: `software named: ${received.join('; ')}`, evidence };
    return { result: 'pass', detail: 'no Server / X-Powered-By header', evidence };
  },
};

export const oversized: Check = {
  id: 'transport.oversized-answers',
  title: 'Answers larger than any client should read',
  category: 'transport',
  severity: 'low',
  cwe: 'CWE-400',
  remediation:
    'Bound what the server sends: frames within the limits it announces, HTTP bodies of a sane size. Clients that read them whole run out of memory (the audit stops reading at 1 MiB per frame and 64 KiB per HTTP body).',
  plan: 'reads what the other checks saw: frames above 1 MiB (the socket is closed unread) and HTTP bodies above 64 KiB (the rest is not read)',
  async run(ctx) {
    const where = [...new Set(ctx.oversized)];
    if (where.length === 0)
      return { result: 'pass', detail: 'no frame above 1 MiB and no HTTP body above 64 KiB' };
    return {
      result: 'fail',
      detail: `oversized answers during ${where.slice(0, 5).join(', ')}${where.length > 5 ? ` and ${where.length - 5} more` : ''}`,
      evidence: { sent: [], received: where.map((w) => `oversized answer during ${w}`) },
    };
  },
};

export const transportChecks: Check[] = [plainWs, tls, deflate, serverHeader];
/** Runs last: it reports what every other check was sent beyond the audit's read bounds. */
export const closingTransportChecks: Check[] = [oversized];
