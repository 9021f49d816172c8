import type { IncomingHttpHeaders } from 'node:http';
import type { AuditContext } from '../context.js';
import { type Conn, type Frame, open, SkipError, short } from '../net.js';
import type { CheckDef } from '../types.js';

type Check = CheckDef<AuditContext>;

/** What the socket opened with `?token=` showed, shared by auth.query-token and auth.query-token-echo. */
export interface QueryTokenSocket {
  /** The socket, when the upgrade was accepted. */
  conn: Conn | undefined;
  /** When the socket opened (performance.now()). */
  openedAt: number;
  /** The first frame the server sent unasked (within a second). */
  first: Frame | undefined;
  /** The refusal of the upgrade, when it was refused. */
  refused: { status: number; body: string; headers: IncomingHttpHeaders } | undefined;
}

const KEY = 'auth.query-token:socket';

/** The URL of the target with `?token=<--token>`. */
export function queryTokenUrl(ctx: AuditContext): string {
  const url = new URL(ctx.url);
  url.searchParams.set('token', ctx.token);
  return url.href;
}

/** Opens (once per run) a socket with the token in the URL and nothing sent, and reads its first frame. */
export async function queryTokenSocket(ctx: AuditContext): Promise<QueryTokenSocket> {
  const held = ctx.memo.get(KEY) as QueryTokenSocket | undefined;
  if (held) return held;
  let s: QueryTokenSocket;
  try {
    const conn = await open(ctx, { auth: false, url: queryTokenUrl(ctx) });
    ctx.cleanup.push(() => conn.close());
    const openedAt = performance.now();
    s = { conn, openedAt, first: await conn.next(Math.min(ctx.bounds.timeoutMs, 1000)), refused: undefined };
  } catch (err) {
    const e = err as { status?: unknown; body?: unknown; headers?: IncomingHttpHeaders };
    if (typeof e.status !== 'number') throw err;
    s = {
      conn: undefined,
      openedAt: performance.now(),
      first: undefined,
      refused: { status: e.status, body: String(e.body ?? ''), headers: e.headers ?? {} },
    };
  }
  ctx.memo.set(KEY, s);
  return s;
}

/** The forms of the token a server may echo: as sent, URL-encoded, and a JWT's signature alone. */
export function tokenNeedles(token: string): string[] {
  const needles = new Set([token, encodeURIComponent(token)]);
  const sig = token.split('.')[2];
  if (sig && sig.length >= 16) needles.add(sig);
  // A token this short could appear by chance: only the whole of it counts.
  return [...needles].filter((n) => n.length >= 8);
}

const headerLines = (h: IncomingHttpHeaders) =>
  Object.entries(h).map(([k, v]) => `${k}: ${Array.isArray(v) ? v.join(', ') : String(v)}`);

export const queryTokenEcho: Check = {
  id: 'auth.query-token-echo',
  title: 'Token from the query string echoed back',
  category: 'authentication',
  severity: 'medium',
  cwe: 'CWE-200',
  remediation:
    'Never send a token back: not in headers, frames, error messages or pages that quote the request URL. Echoed, it lands in client logs, caches and screenshots on top of the access logs that already hold the URL. Take the token from the first message, not the URL (wsguard ignores `?token=` unless `allowQueryToken: true`).',
  plan: 'reads the 101 headers, refusal and first frames of the socket opened with ?token=<--token> (auth.query-token); when that token was accepted, sends one application message on it; looks for the token in all of it',
  async run(ctx) {
    if (ctx.noAuth)
      throw new SkipError('the server handles messages without any authentication (auth.no-token)');
    const needles = tokenNeedles(ctx.token);
    if (needles.length === 0)
      throw new SkipError('--token is shorter than 8 characters: an echo would prove nothing');
    const s = await queryTokenSocket(ctx);
    const places: { where: string; text: string }[] = [];
    const sent = [`GET ${ctx.url}?token=<--token> (upgrade)`];
    if (s.refused) {
      places.push({ where: `the HTTP ${s.refused.status} refusal body`, text: s.refused.body });
      for (const line of headerLines(s.refused.headers))
        places.push({ where: 'a header of the refusal', text: line });
    }
    const conn = s.conn;
    if (conn) {
      for (const line of headerLines(conn.headers)) places.push({ where: 'a header of the 101', text: line });
      const frames: Frame[] = s.first ? [s.first] : [];
      // Frames the server pushed after the first one, unasked.
      for (let f = await conn.next(100); f && frames.length < 20; f = await conn.next(100)) frames.push(f);
      const accepted = frames.some((f) => f.json?.type === 'auth_ok');
      if (accepted && !conn.closeInfo()) {
        // Only on a session the URL opened: on any other, a message before auth is an auth failure.
        const csrf = frames.find((f) => f.json?.type === 'auth_ok')?.json?.csrfToken;
        const msg = {
          type: ctx.type,
          id: `audit-echo-${Date.now().toString(36)}`,
          payload: ctx.payload ?? { audit: 'query-token-echo' },
          ...(typeof csrf === 'string' ? { csrf } : {}),
        };
        conn.send(msg);
        sent.push(JSON.stringify(msg));
        for (let f = await conn.next(ctx.bounds.timeoutMs); f && frames.length < 40; f = await conn.next(200))
          frames.push(f);
      }
      for (const f of frames) places.push({ where: `a frame (${short(f.text, 40)})`, text: f.text });
      const c = conn.closeInfo();
      if (c?.reason) places.push({ where: `the close reason (${c.code})`, text: c.reason });
      // A socket that never authenticated stays open: auth.timeout times it.
      if (accepted) conn.close();
    }
    const echoed = places.filter((p) => needles.some((n) => p.text.includes(n)));
    const redact = (t: string) => needles.reduce((acc, n) => acc.split(n).join('<--token>'), t);
    const evidence = { sent, received: places.slice(0, 10).map((p) => short(redact(p.text), 160)) };
    if (echoed.length > 0)
      return {
        result: 'fail',
        detail: `the token sent in the URL came back in ${[...new Set(echoed.map((e) => e.where))].slice(0, 3).join(', ')}`,
        evidence: { sent, received: echoed.slice(0, 5).map((p) => short(redact(p.text), 160)) },
      };
    return {
      result: 'pass',
      detail: s.refused
        ? `the upgrade was refused (HTTP ${s.refused.status}) without the token in the answer`
        : `the token is in none of the ${places.length} headers, frames and close reasons seen`,
      evidence,
    };
  },
};
