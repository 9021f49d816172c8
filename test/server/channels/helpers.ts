import { vi } from 'vitest';
import { connectAuthed, type Peer } from '../../helpers/peer.js';
import { type Child, startChild } from '../../helpers/process.js';
import { repoRoot } from '../../helpers/project.js';
import { signToken } from '../../helpers/server.js';

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

/** A wsguard process (test/fixtures/channels-node.ts) on a shared Redis, driven over its stdin. */
export interface ChannelsNode {
  child: Child;
  url: string;
  /** Runs one fixture command (publish, close, ...) and waits until the process says it is done. */
  command(cmd: Record<string, unknown>): Promise<void>;
}

export async function startChannelsNode(
  redisUrl: string,
  env: Record<string, string>,
): Promise<ChannelsNode> {
  const child = startChild(process.execPath, ['--import', 'tsx', 'test/fixtures/channels-node.ts'], {
    cwd: repoRoot,
    env: { REDIS_URL: redisUrl, ...env },
  });
  const port = Number((await child.waitFor(/listening (\d+)/))[1]);
  let commands = 0;
  return {
    child,
    url: `ws://127.0.0.1:${port}/ws`,
    async command(cmd) {
      const n = ++commands;
      child.proc.stdin?.write(`${JSON.stringify(cmd)}\n`);
      await child.waitFor(new RegExp(`done ${n}\\b`));
    },
  };
}

/** An authenticated client of `node` for the user `sub`. */
export async function nodeClient(
  node: ChannelsNode,
  sub: string,
  claims: Record<string, unknown> = {},
): Promise<Client> {
  const { peer, csrf } = await connectAuthed(node.url, await signToken(sub, claims));
  return { peer, csrf };
}
