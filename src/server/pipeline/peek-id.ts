const ID_AT_START = /^\{\s*"id"\s*:\s*"([\x21\x23-\x5b\x5d-\x7e]{1,64})"/;

/**
 * The id of a message refused before parsing, if the frame starts with it (wsguard's client
 * writes `id` first), so the client can settle that message's promise. Looks at 100 bytes only.
 */
export function peekId(data: Buffer | string): string | undefined {
  const head = typeof data === 'string' ? data.slice(0, 100) : data.subarray(0, 100).toString('latin1');
  return ID_AT_START.exec(head)?.[1];
}
