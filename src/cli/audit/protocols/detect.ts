import type { AuditContext } from '../context.js';
import { answer, describe, type HttpAnswer, httpGet, open, short } from '../net.js';
import { GRAPHQL_TRANSPORT_WS, graphqlWsProtocol } from './graphql-ws.js';
import { rawProtocol } from './raw.js';
import { socketIoProtocol } from './socketio.js';
import type { Protocol } from './types.js';
import { wsguardProtocol } from './wsguard.js';

/** What detection found, and the one observation that decided it. */
export interface Detection {
  protocol: Protocol;
  evidence: string;
}

/** A subprotocol no server supports: plain `ws` servers pick the first one offered, graphql-ws its own. */
const DECOY = 'wsguard-audit-probe';

/** Offered by the preflight upgrade under --protocol=auto: only a graphql-ws server picks the second. */
export const DETECTION_OFFER = { 'Sec-WebSocket-Protocol': `${DECOY}, ${GRAPHQL_TRANSPORT_WS}` };

const ENGINE_IO_ERROR =
  /^\{"code":[0-5],"message":"(?:Transport unknown|Session ID unknown|Bad handshake method|Bad request|Forbidden|Unsupported protocol version)"/;

/**
 * Socket.IO: Engine.IO's polling handshake answers a plain GET with `0{"sid":…}`. One bounded
 * GET, no upgrade; any failure (nothing listening, a hostile body) just means "not Socket.IO"
 * and the preflight reports reachability.
 */
export async function detectSocketIo(ctx: AuditContext): Promise<Detection | undefined> {
  const path = socketIoProtocol.endpoint(ctx.target).pathname;
  try {
    const res = await httpGet(ctx, `${path}?EIO=4&transport=polling`, { Origin: ctx.origin });
    // The open packet, or Engine.IO's own refusal (e.g. `allowRequest` said no).
    if ((res.status === 200 && /^0\{"sid":/.test(res.body)) || ENGINE_IO_ERROR.test(res.body))
      return {
        protocol: socketIoProtocol,
        evidence: `GET ${path}?EIO=4&transport=polling answered HTTP ${res.status} ${short(res.body, 60)}`,
      };
  } catch {
    // Not Socket.IO, or not reachable: the preflight says which.
  }
  return undefined;
}

/** The shared socket the CSRF checks use first (checks/shared.ts): detection's socket becomes it. */
const FIRST_SHARED = 'conn:csrf';

/**
 * graphql-ws, wsguard or raw: the preflight's answer to DETECTION_OFFER (graphql-ws picks its
 * own subprotocol), then one socket sending wsguard's `auth` with --token (`auth_ok` or a WSG_*
 * refusal is wsguard; anything else is raw). An authenticated socket is kept for the first
 * checks that share one: every upgrade counts against the server's per-IP limits and pacing.
 */
export async function detectSocketProtocol(ctx: AuditContext, offered: HttpAnswer): Promise<Detection> {
  const chosen = offered.headers['sec-websocket-protocol'];
  if (offered.status === 101 && chosen === GRAPHQL_TRANSPORT_WS)
    return {
      protocol: graphqlWsProtocol,
      evidence: `offered ${DECOY}, ${GRAPHQL_TRANSPORT_WS}: the server chose ${GRAPHQL_TRANSPORT_WS}`,
    };
  const saved = ctx.protocol;
  ctx.protocol = wsguardProtocol;
  try {
    const conn = await open(ctx, { auth: false });
    let keep = false;
    try {
      conn.send({ type: 'auth', token: ctx.token });
      const a = await answer(conn, ctx.bounds.timeoutMs);
      // An echo server sends the token back: it must not land in the report.
      const said = ctx.token
        ? describe(a, ctx.bounds.timeoutMs).split(ctx.token).join('<--token>')
        : describe(a, ctx.bounds.timeoutMs);
      if (a.kind === 'reply' && a.frame.json?.type === 'auth_ok') {
        ctx.authOk ??= a.frame.json;
        conn.authOk = a.frame.json;
        conn.csrf = typeof a.frame.json.csrfToken === 'string' ? a.frame.json.csrfToken : undefined;
        ctx.memo.set(FIRST_SHARED, conn);
        ctx.cleanup.push(() => conn.close());
        keep = true;
        return { protocol: wsguardProtocol, evidence: `auth with --token answered auth_ok` };
      }
      if (/\bWSG_[A-Z_]+/.test(a.kind === 'closed' ? a.reason : said))
        return { protocol: wsguardProtocol, evidence: `auth with --token answered ${said}` };
      return { protocol: rawProtocol, evidence: `no known protocol: auth with --token answered ${said}` };
    } finally {
      if (!keep) conn.close();
    }
  } catch (err) {
    const why = (err as Error).message.split('\n')[0] ?? 'refused';
    const body = String((err as { body?: unknown }).body ?? '');
    // wsguard names its refusals (WSG_ORIGIN_FORBIDDEN…) even when it refuses the upgrade.
    if (/\bWSG_[A-Z_]+/.test(`${why} ${body}`))
      return {
        protocol: wsguardProtocol,
        evidence: `the upgrade was refused by wsguard: ${short(why, 120)}`,
      };
    return {
      protocol: rawProtocol,
      evidence: `undetermined (${short(why, 120)}): treated as raw; pass --protocol to choose`,
    };
  } finally {
    ctx.protocol = saved;
  }
}
