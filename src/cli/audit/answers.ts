import type { Frame } from './protocols/types.js';

/** The server's reaction to one probe. */
export type Answer =
  | { kind: 'reply'; frame: Frame; refused: boolean }
  | { kind: 'closed'; code: number; reason: string }
  | { kind: 'silent' };

/** Shortens text for evidence and console lines. */
export function short(text: string, max = 200): string {
  const flat = text.replace(/\s+/g, ' ');
  return flat.length > max ? `${flat.slice(0, max)}… (${text.length} chars)` : flat;
}

/** One line for evidence: `error WSG_CSRF_INVALID`, `closed 1009`, `reply {...}`, `no answer`. */
export function describe(a: Answer, timeoutMs: number): string {
  if (a.kind === 'closed') return `closed ${a.code}${a.reason ? ` ${a.reason}` : ''}`;
  if (a.kind === 'silent') return `no answer within ${timeoutMs} ms`;
  const j = a.frame.json;
  if (j?.type === 'error' && typeof j.code === 'string') return `error ${j.code}`;
  return `${a.frame.binary ? 'binary ' : ''}reply ${short(a.frame.text, 160)}`;
}

/** Is this refusal (frame or close) a rate limit, block or similar throttle? */
export function isThrottle(a: Answer): boolean {
  if (a.kind === 'closed') return a.code === 4429 || a.code === 1008 || a.code === 1013;
  if (a.kind !== 'reply' || !a.refused) return false;
  return /rate|limit|throttl|too many|slow down|block/i.test(
    `${String(a.frame.json?.code ?? '')} ${a.frame.text}`,
  );
}
