import { expect } from 'vitest';
import { connectAuthed } from './peer.js';
import { signToken } from './server.js';

/**
 * Asserts the server still serves a good client: it authenticates and gets an ack for `echo`
 * (the server must have an `echo` type), or `auth_ok` at least when it has none.
 */
export async function expectStillServing(
  url: string,
  options: { echo?: boolean; headers?: Record<string, string> } = {},
) {
  const { peer, csrf } = await connectAuthed(url, await signToken('bystander'), {
    headers: options.headers ?? {},
  });
  if (options.echo !== false) {
    peer.send({ id: 'still-serving', type: 'echo', payload: 'ok', csrf });
    expect(await peer.next('ack')).toEqual({ type: 'ack', id: 'still-serving', result: 'ok' });
  }
  peer.close();
}
