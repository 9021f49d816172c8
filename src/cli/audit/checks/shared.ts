import type { AuditContext } from '../context.js';
import { type Answer, type Conn, open } from '../net.js';

/**
 * An authenticated socket shared by the checks of one category (fewer upgrades: servers limit
 * them per IP); reopened when a check got it closed.
 */
export async function shared(ctx: AuditContext, key: string): Promise<Conn> {
  const held = ctx.memo.get(`conn:${key}`) as Conn | undefined;
  if (held && !held.closeInfo() && held.ws.readyState === held.ws.OPEN) return held;
  const conn = await open(ctx);
  ctx.memo.set(`conn:${key}`, conn);
  ctx.cleanup.push(() => conn.close());
  return conn;
}

/** A non-error reply: the server handled the message. */
export const handled = (a: Answer) => a.kind === 'reply' && !a.refused;
