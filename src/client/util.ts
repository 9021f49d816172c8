export type Timer = ReturnType<typeof setTimeout>;

/** The longest delay setTimeout honours; a longer one would fire at once. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function toError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}
