import type { AnnouncedLimits } from '../../protocol/index.js';
import type { ResolvedLimits } from './options.js';

/**
 * The limits a session is held to, as `auth_ok` and `refresh_ok` announce them (layers that are
 * off are absent). Built once at setup: the layers are the same for every session of a server.
 */
export function announceLimits(
  limits: ResolvedLimits | false,
  maxPayload: number,
  maxSubscriptions: number | undefined,
): AnnouncedLimits {
  const out: AnnouncedLimits = { maxPayload };
  if (maxSubscriptions !== undefined) out.maxSubscriptions = maxSubscriptions;
  if (limits === false) return out;
  if (limits.connectionsPerIp)
    out.connectionsPerIp = { max: limits.connectionsPerIp.max, windowMs: limits.connectionsPerIp.windowMs };
  if (limits.messages) {
    out.messagesPerSecond = limits.messages.rate;
    out.burst = limits.messages.burst;
  }
  if (limits.bytes) out.bytes = { rate: limits.bytes.rate, burst: limits.bytes.burst };
  if (limits.user) out.user = { rate: limits.user.rate, burst: limits.user.burst };
  const types = Object.entries(limits.types);
  if (types.length > 0) {
    out.types = {};
    for (const [type, t] of types) {
      out.types[type] =
        t.cost === undefined
          ? { rate: t.rate, burst: t.burst }
          : { rate: t.rate, burst: t.burst, cost: t.cost };
    }
  }
  return out;
}
