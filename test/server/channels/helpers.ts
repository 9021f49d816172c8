import { vi } from 'vitest';
import type { Peer } from '../../helpers/peer.js';

export interface Client {
  peer: Peer;
  csrf: string;
}

/** Every frame the peer got so far, parsed. */
export const received = (c: Client) => c.peer.frames.map((f) => JSON.parse(f) as Record<string, unknown>);

/** The publications the peer got so far, in order. */
export const publications = (c: Client) => received(c).filter((m) => m.type === 'publication');

let seq = 0;

/** Sends `msg` with a fresh id and the session's csrf; resolves with the reply (ack or error) for that id. */
export async function request(c: Client, msg: Record<string, unknown>): Promise<Record<string, unknown>> {
  const id = `r${++seq}`;
  c.peer.send({ id, csrf: c.csrf, ...msg });
  return vi.waitFor(
    () => {
      const reply = received(c).find((m) => m.id === id && (m.type === 'ack' || m.type === 'error'));
      if (!reply) throw new Error(`no reply to ${id}`);
      return reply;
    },
    { timeout: 5000, interval: 10 },
  );
}

export const subscribe = (c: Client, channel: string) => request(c, { type: 'subscribe', channel });

/** Waits until the peer has a frame matching `pick`. */
export function frame(c: Client, pick: (m: Record<string, unknown>) => boolean) {
  return vi.waitFor(
    () => {
      const m = received(c).find(pick);
      if (!m) throw new Error('no such frame yet');
      return m;
    },
    { timeout: 5000, interval: 10 },
  );
}
