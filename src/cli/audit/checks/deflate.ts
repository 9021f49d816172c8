import { deflateRawSync } from 'node:zlib';
import type { AuditContext } from '../context.js';
import { answer, appMessage, type Conn, describe, open, SkipError } from '../net.js';
import type { CheckDef } from '../types.js';
import { sizeRefusal } from './input.js';

type Check = CheckDef<AuditContext>;

/**
 * What the probe inflates to: 1 MiB, sixteen times wsguard's default limit, from a frame of
 * about a kilobyte. Enough to show an unbounded inflater; far from a bomb that would hurt anyone.
 */
export const INFLATED_BYTES = 1024 * 1024;

/** A JSON message of `bytes` bytes, padded with one repeated character (so it compresses about 1000:1). */
export function inflatingMessage(ctx: AuditContext, conn: Conn, bytes: number): string {
  const msg = appMessage(ctx, conn, '');
  const p = msg.payload;
  const padded = (pad: string) =>
    JSON.stringify({
      ...msg,
      payload:
        p !== null && typeof p === 'object' && !Array.isArray(p) ? { ...p, wsguardAuditPad: pad } : pad,
    });
  return padded('x'.repeat(Math.max(0, bytes - padded('').length)));
}

const offered = (ctx: AuditContext) => {
  const v = ctx.preflight?.headers['sec-websocket-extensions'];
  return (Array.isArray(v) ? v.join(', ') : (v ?? '')).includes('permessage-deflate');
};

export const deflateUnbounded: Check = {
  id: 'transport.deflate-unbounded',
  title: 'Compressed messages inflate without a size bound',
  category: 'transport',
  severity: 'medium',
  cwe: 'CWE-409',
  remediation:
    'Bound the inflated size, not only the frame on the wire: with permessage-deflate on, a kilobyte can inflate to a megabyte (and far more). `ws` stops inflating at `maxPayload` (close 1009) when it is set; wsguard keeps 64 KiB and leaves compression off by default.',
  plan: `when the first upgrade negotiated permessage-deflate: authenticates on a compressed socket and sends one message that inflates to ${INFLATED_BYTES} bytes from about 1 KB on the wire (answers still read within the audit's 1 MiB bound)`,
  async run(ctx) {
    if (!ctx.preflight) throw new SkipError('no preflight answer');
    if (ctx.preflight.status !== 101) throw new SkipError(`the upgrade was answered ${ctx.preflight.status}`);
    if (!offered(ctx))
      return {
        result: 'pass',
        detail: 'compression declined: a small frame cannot inflate into a large message',
        evidence: { sent: ['Sec-WebSocket-Extensions: permessage-deflate (first upgrade)'], received: [] },
      };
    const conn = await open(ctx, { deflate: true });
    try {
      if (!conn.ws.extensions.includes('permessage-deflate'))
        return {
          result: 'pass',
          detail: 'compression declined on the probe socket',
          evidence: { sent: ['Sec-WebSocket-Extensions: permessage-deflate'], received: [] },
        };
      const data = inflatingMessage(ctx, conn, INFLATED_BYTES);
      const wire = deflateRawSync(data).length;
      conn.sendRaw(data);
      const t = ctx.bounds.timeoutMs;
      const a = await answer(conn, t);
      const label = `a ${wire}-byte compressed frame inflating to ${data.length} bytes`;
      const evidence = { sent: [label], received: [describe(a, t)] };
      // The 1009 may be the audit's own: the answer inflated past its 1 MiB bound, so the server read it all.
      if (a.kind === 'closed' && ctx.oversized.includes(ctx.current))
        return {
          result: 'fail',
          detail: `${label} was read in full: the answer inflated past the audit's 1 MiB bound (closed unread)`,
          evidence: { sent: [label], received: ['an answer above 1 MiB (the audit closed the socket 1009)'] },
        };
      if (sizeRefusal(a)) return { result: 'pass', detail: `${label} refused: ${describe(a, t)}`, evidence };
      if (a.kind === 'silent')
        return { result: 'warn', severity: 'info', detail: `no answer to ${label}: inconclusive`, evidence };
      if (a.kind === 'closed')
        return {
          result: 'warn',
          severity: 'info',
          detail: `closed ${a.code} after ${label}, not 1009 (message too big): inconclusive`,
          evidence,
        };
      // Handled, or refused for anything but its size: the server inflated and read all of it.
      return {
        result: 'fail',
        detail: `${label} was inflated and read in full (${Math.round(data.length / wire)}× amplification): ${describe(a, t)}`,
        evidence,
      };
    } finally {
      conn.close();
    }
  },
};
