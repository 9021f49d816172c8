import { MESSAGE_ID_PATTERN } from '../../protocol/index.js';

const ID_AT_START = /^\{\s*"id"\s*:\s*"([\x21\x23-\x5b\x5d-\x7e]{1,64})"/;

/**
 * The id of a message refused before parsing, if the frame starts with it (wsguard's client
 * writes `id` first), so the client can settle that message's promise. Looks at 100 bytes only.
 */
export function peekId(data: Buffer | string): string | undefined {
  const head = typeof data === 'string' ? data.slice(0, 100) : data.subarray(0, 100).toString('latin1');
  return ID_AT_START.exec(head)?.[1];
}

/** The `id` of a parsed message whose envelope was refused, when it is a well-formed id. */
export function idOf(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const id = (value as { id?: unknown }).id;
  return typeof id === 'string' && MESSAGE_ID_PATTERN.test(id) ? id : undefined;
}
