import type { AnnouncedLimits, AnnouncedRate } from '../../protocol/index.js';
import type { ResolvedLimits } from './options.js';
import type { BucketRate } from './token-bucket.js';

const rate = (r: BucketRate): AnnouncedRate => ({ rate: r.rate, burst: r.burst });

/**
 * The limits a session is held to, as `auth_ok` and `refresh_ok` announce them. Built once at
 * setup: the layers are the same for every session of this server.
 */
export function announceLimits(limits: ResolvedLimits | false, maxPayload: number): AnnouncedLimits {
  const out: AnnouncedLimits = { maxPayload };
  if (limits === false) return out;
  const socket: NonNullable<AnnouncedLimits['socket']> = {};
  if (limits.messages) socket.messages = rate(limits.messages);
  if (limits.bytes) socket.bytes = rate(limits.bytes);
  if (socket.messages || socket.bytes) out.socket = socket;
  if (limits.user) out.user = { messages: rate(limits.user) };
  const types = Object.entries(limits.types);
  if (types.length > 0) {
    out.types = {};
    for (const [type, t] of types) out.types[type] = { ...rate(t), cost: t.cost ?? 1 };
  }
  return out;
}
