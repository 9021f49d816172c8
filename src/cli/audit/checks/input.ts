import type { AuditContext } from '../context.js';
import { type Answer, answer, appProbe, type Conn, describe, open, short } from '../net.js';
import type { CheckDef, Outcome, Severity } from '../types.js';
import { handled, shared } from './shared.js';

type Check = CheckDef<AuditContext>;

/** Sends `data` and reads the answer: refused or closed passes, handled fails, silence warns. */
async function expectRefused(
  ctx: AuditContext,
  conn: Conn,
  data: string | Buffer,
  label: string,
  onHandled: { result: 'fail' | 'warn'; severity?: Severity } = { result: 'fail' },
): Promise<Outcome & { answer: Answer }> {
  conn.sendRaw(data);
  const t = ctx.bounds.timeoutMs;
  const a = await answer(conn, t);
  const evidence = {
    sent: [typeof data === 'string' ? short(data, 160) : `binary frame, ${data.length} bytes`],
    received: [describe(a, t)],
  };
  if (handled(a))
    return { ...onHandled, detail: `${label} was handled: ${evidence.received[0]}`, evidence, answer: a };
  if (a.kind === 'silent')
    return {
      result: 'warn',
      severity: 'info',
      detail: `no answer to ${label}: inconclusive`,
      evidence,
      answer: a,
    };
  return { result: 'pass', detail: `${label} refused: ${evidence.received[0]}`, evidence, answer: a };
}

/** Close 1009, or the documented error code for an oversized message. */
export function sizeRefusal(a: Answer): boolean {
  if (a.kind === 'closed') return a.code === 1009;
  return a.kind === 'reply' && a.frame.json?.code === 'WSG_MESSAGE_TOO_LARGE';
}

function sizeCheck(id: string, bytes: number, label: string, severity: Severity): Check {
  return {
    id,
    title: `A ${label} message accepted`,
    category: 'input',
    severity,
    cwe: 'CWE-770',
    remediation:
      'Cap the frame size at the WebSocket layer so an oversized frame is refused before it is buffered (ws `maxPayload`; wsguard: 64 KiB by default, close 1009).',
    plan: `authenticates on a new socket and sends one ${bytes}-byte message`,
    async run(ctx) {
      const conn = await open(ctx);
      try {
        const data = ctx.protocol.sized(appProbe(ctx, conn), bytes);
        conn.sendRaw(data);
        const t = ctx.bounds.timeoutMs;
        const a = await answer(conn, t);
        const evidence = { sent: [short(data, 120)], received: [describe(a, t)] };
        // Only a size refusal shows a limit: any other error means the whole message was read
        // and parsed (e.g. refused for its type), which is what the limit must prevent.
        if (sizeRefusal(a))
          return { result: 'pass', detail: `a ${label} message refused: ${evidence.received[0]}`, evidence };
        if (a.kind === 'silent')
          return {
            result: 'warn',
            severity: 'info',
            detail: `no answer to a ${label} message: inconclusive`,
            evidence,
          };
        if (a.kind === 'closed')
          return {
            result: 'warn',
            severity: 'info',
            detail: `closed ${a.code} after a ${label} message, not 1009 (message too big): inconclusive`,
            evidence,
          };
        return {
          result: 'fail',
          detail: `a ${label} message was read in full: ${evidence.received[0]}`,
          evidence,
        };
      } finally {
        conn.close();
      }
    },
  };
}

const nested = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;

const frameWithPayload = (ctx: AuditContext, conn: Conn, payloadJson: string) =>
  ctx.protocol.withPayload(appProbe(ctx, conn), payloadJson);

export const inputChecks: Check[] = [
  sizeCheck('input.size-64k', 64 * 1024 + 1, '64 KiB + 1 byte', 'low'),
  sizeCheck('input.size-1m', 1024 * 1024, '1 MiB', 'medium'),
  {
    id: 'input.binary',
    title: 'Binary frames accepted',
    category: 'input',
    severity: 'low',
    cwe: 'CWE-20',
    remediation:
      'Refuse binary frames unless the protocol needs them (wsguard: WSG_BINARY_NOT_ALLOWED unless `binaryType` is set).',
    plan: 'sends one 16-byte binary frame on the input socket',
    async run(ctx) {
      const { answer: _a, ...o } = await expectRefused(
        ctx,
        await shared(ctx, 'input'),
        Buffer.from('wsguard-audit-bin'),
        'a binary frame',
      );
      return o;
    },
  },
  {
    id: 'input.invalid-json',
    title: 'Invalid JSON not refused',
    category: 'input',
    severity: 'low',
    cwe: 'CWE-20',
    remediation:
      'Parse every frame strictly and answer invalid JSON with a fixed error (wsguard: WSG_INVALID_JSON).',
    plan: 'sends one truncated JSON text frame',
    async run(ctx) {
      const { answer: _a, ...o } = await expectRefused(
        ctx,
        await shared(ctx, 'input'),
        ctx.protocol.truncated(appProbe(ctx)),
        'invalid JSON',
        { result: 'warn' },
      );
      return o;
    },
  },
  {
    id: 'input.deep-nesting',
    title: 'Deeply nested JSON accepted',
    category: 'input',
    severity: 'medium',
    cwe: 'CWE-674',
    remediation:
      'Bound the depth and the number of keys of parsed messages before any recursive processing (wsguard: `maxDepth` 32, `maxKeys` 2000, WSG_UNSAFE_JSON).',
    plan: 'sends one message whose payload nests 5000 arrays (10 KB)',
    async run(ctx) {
      const conn = await shared(ctx, 'input');
      const { answer: _a, ...o } = await expectRefused(
        ctx,
        conn,
        frameWithPayload(ctx, conn, nested(5000)),
        'a payload nested 5000 deep',
      );
      return o;
    },
  },
  {
    id: 'input.prototype-pollution',
    title: 'Prototype-pollution payloads accepted',
    category: 'input',
    severity: 'medium',
    cwe: 'CWE-1321',
    remediation:
      'Refuse `__proto__` keys and `constructor.prototype` at any depth before merging client data into objects (wsguard: WSG_UNSAFE_JSON).',
    plan: 'sends a `__proto__` payload and a `constructor.prototype` payload, then an empty payload to see if a marker leaked into it',
    async run(ctx) {
      const conn = await shared(ctx, 'input');
      const outcomes: Outcome[] = [];
      for (const p of [
        '{"__proto__":{"auditPolluted":true}}',
        '{"constructor":{"prototype":{"auditPolluted":true}}}',
      ]) {
        const { answer: _a, ...o } = await expectRefused(
          ctx,
          conn,
          frameWithPayload(ctx, conn, p),
          `the payload ${p}`,
          { result: 'warn' },
        );
        outcomes.push(o);
      }
      const probe = ctx.protocol.message(appProbe(ctx, conn), {});
      const after = await expectRefused(ctx, conn, probe, 'a follow-up message');
      const sent = outcomes.flatMap((o) => o.evidence?.sent ?? []).concat(probe);
      const received = outcomes
        .flatMap((o) => o.evidence?.received ?? [])
        .concat(after.evidence?.received ?? []);
      if (after.answer.kind === 'reply' && after.answer.frame.text.includes('auditPolluted'))
        return {
          result: 'fail',
          severity: 'high',
          detail: 'an empty payload came back with the injected property: the prototype was polluted',
          evidence: { sent, received },
        };
      const bad = outcomes.find((o) => o.result !== 'pass');
      return bad
        ? { ...bad, evidence: { sent, received } }
        : { result: 'pass', detail: 'both payloads refused', evidence: { sent, received } };
    },
  },
  {
    id: 'input.unknown-type',
    title: 'Unknown message types accepted',
    category: 'input',
    severity: 'low',
    cwe: 'CWE-20',
    remediation:
      'Accept only message types the app declares, each with a schema (wsguard: `messages`, WSG_UNKNOWN_TYPE).',
    plan: 'sends one message of type auditUnknownType',
    async run(ctx) {
      const conn = await shared(ctx, 'input');
      const msg = ctx.protocol.unknownType(appProbe(ctx, conn));
      const { answer: _a, ...o } = await expectRefused(ctx, conn, msg, 'an unknown type');
      return o;
    },
  },
];
