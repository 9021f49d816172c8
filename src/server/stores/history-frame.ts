import { randomBytes } from 'node:crypto';

/**
 * The finished publication frame of a channel with history: the body (the frame without its
 * closing brace) and the position. Offset and epoch come last so a node can read them back from
 * the frame's tail without parsing the payload (positionOf).
 */
export function historyFrame(body: string, offset: number, epoch: string): string {
  return `${body},"offset":${offset},"epoch":"${epoch}"}`;
}

const TAIL = /,"offset":(\d+),"epoch":"([A-Za-z0-9_-]{1,64})"}$/;

/** The offset a frame made by historyFrame carries, or undefined for any other frame (presence). */
export function offsetOf(frame: string): number | undefined {
  const m = TAIL.exec(frame.slice(-100));
  return m ? Number(m[1]) : undefined;
}

/** A fresh epoch: 12 random base64url characters, so a lost history is never mistaken for a kept one. */
export function newEpoch(): string {
  return randomBytes(9).toString('base64url');
}
