import type { AuditContext } from '../context.js';
import { answer, appProbe, describe, open, SkipError, short } from '../net.js';
import type { CheckDef } from '../types.js';

type Check = CheckDef<AuditContext>;

const PROVOKED = 'errors.provoked';

/** Once per audit: sends the provocations on an authenticated socket, recording every answer. */
async function provoke(ctx: AuditContext): Promise<string[]> {
  const done = ctx.memo.get(PROVOKED) as string[] | undefined;
  if (done) return done;
  const sent: string[] = [];
  ctx.memo.set(PROVOKED, sent);
  // Authenticated when possible; errors before authentication leak just as well.
  const conn = await open(ctx).catch((err: unknown) => {
    if (err instanceof SkipError) return open(ctx, { auth: false });
    throw err;
  });
  try {
    const app = appProbe(ctx, conn);
    for (const text of [...ctx.protocol.provocations(app), ctx.protocol.message(app, { audit: 'after' })]) {
      conn.sendRaw(text);
      sent.push(
        `${short(text, 100)} -> ${describe(await answer(conn, ctx.bounds.timeoutMs), ctx.bounds.timeoutMs)}`,
      );
      if (conn.closeInfo()) break;
    }
  } finally {
    conn.close();
  }
  return sent;
}

/** A check that scans every text the server sent during the audit (after provoking errors). */
function scan(
  id: string,
  title: string,
  pattern: RegExp,
  what: string,
  severity: CheckDef['severity'],
  cwe: string,
  remediation: string,
): Check {
  return {
    id,
    title,
    category: 'errors',
    severity,
    cwe,
    remediation,
    plan: 'sends five malformed messages once (shared by the error checks), then scans every reply, close reason and refusal seen so far',
    async run(ctx) {
      const sent = await provoke(ctx);
      const hits = ctx.seen
        .map((s) => ({ ...s, m: pattern.exec(s.text) }))
        .filter((s): s is typeof s & { m: RegExpExecArray } => s.m !== null);
      const received = hits
        .slice(0, 3)
        .map(
          (h) => `[${h.where}] …${short(h.text.slice(Math.max(0, h.m.index - 40), h.m.index + 120), 160)}`,
        );
      const evidence = {
        sent: sent.length ? sent : ['(no provocation: see the other error checks)'],
        received,
      };
      return hits.length
        ? {
            result: 'fail',
            detail: `${what} in ${hits.length} of ${ctx.seen.length} server texts, first: ${short(hits[0]?.m[0] ?? '', 80)}`,
            evidence,
          }
        : { result: 'pass', detail: `no ${what} in ${ctx.seen.length} server texts`, evidence };
    },
  };
}

const GENERIC =
  'Answer every failure with a fixed error code and a fixed short message; log the detail on the server only (wsguard: `{"type":"error","code":"WSG_…","message":"…"}`).';

export const STACK_TRACE =
  /\bat (?:async )?[\w$.<>[\] ]*?\(?(?:file:\/\/|node:internal|\/[\w.-]+\/|[A-Za-z]:\\|<anonymous>)/;
export const FILE_PATH =
  /(?:file:\/\/\/|(?<![\w.])\/(?:home|usr|var|opt|srv|app|work|root|tmp|Users|mnt|data|etc|lib)\/[\w.-]+\/|[A-Za-z]:\\\\?[\w. -]+\\|node_modules[\\/])/;
export const EXCEPTION =
  /\b(?:SyntaxError|TypeError|RangeError|ReferenceError|InternalError|Error): [^"\\]{3,}/;
export const VERSION =
  /\b(?:node(?:\.js)?|ws|express|socket\.io|engine\.io|uWebSockets(?:\.js)?|nginx|apache|fastify|koa|hapi|deno|bun|jose|jsonwebtoken|zod)[ /@:v]*v?\d+\.\d+(?:\.\d+)?/i;

export const errorChecks: Check[] = [
  scan(
    'errors.stack-trace',
    'Stack traces in replies',
    STACK_TRACE,
    'stack frames',
    'medium',
    'CWE-209',
    GENERIC,
  ),
  scan(
    'errors.file-path',
    'Server file paths in replies',
    FILE_PATH,
    'file paths',
    'medium',
    'CWE-209',
    GENERIC,
  ),
  scan(
    'errors.exception',
    'Raw exception messages in replies',
    EXCEPTION,
    'exception messages',
    'low',
    'CWE-209',
    GENERIC,
  ),
  scan(
    'errors.version',
    'Library names with versions in replies',
    VERSION,
    'library versions',
    'low',
    'CWE-200',
    `${GENERIC} Never put library names or versions in replies or close reasons.`,
  ),
];
