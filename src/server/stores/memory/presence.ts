import type { PresenceStore } from '../types.js';

/** Presence in this process: per channel, per user, the nodes (here one) that hold it and until when. */
export function createMemoryPresence(now: () => number = Date.now): PresenceStore {
  const channels = new Map<string, Map<string, Map<string, number>>>();

  const sweep = (channel: string, t: number): string[] => {
    const users = channels.get(channel);
    if (!users) return [];
    const left: string[] = [];
    for (const [userId, nodes] of users) {
      for (const [node, until] of nodes) if (until <= t) nodes.delete(node);
      if (nodes.size === 0) {
        users.delete(userId);
        left.push(userId);
      }
    }
    if (users.size === 0) channels.delete(channel);
    return left;
  };

  return {
    presenceAdd(channel, userId, nodeId, ttlMs) {
      const t = now();
      sweep(channel, t);
      let users = channels.get(channel);
      if (!users) {
        users = new Map();
        channels.set(channel, users);
      }
      let nodes = users.get(userId);
      const fresh = !nodes;
      if (!nodes) {
        nodes = new Map();
        users.set(userId, nodes);
      }
      nodes.set(nodeId, t + ttlMs);
      return fresh;
    },
    presenceRemove(channel, userId, nodeId) {
      const users = channels.get(channel);
      const nodes = users?.get(userId);
      if (!users || !nodes?.delete(nodeId)) return false;
      if (nodes.size > 0) return false;
      users.delete(userId);
      if (users.size === 0) channels.delete(channel);
      return true;
    },
    presenceRefresh(channel, userIds, nodeId, ttlMs) {
      const t = now();
      const users = channels.get(channel);
      for (const userId of userIds) users?.get(userId)?.set(nodeId, t + ttlMs);
      return sweep(channel, t);
    },
    presenceGet(channel, max) {
      sweep(channel, now());
      const users = channels.get(channel);
      if (!users) return { count: 0, members: [] };
      const members: string[] = [];
      for (const userId of users.keys()) {
        if (members.length >= max) break;
        members.push(userId);
      }
      return { count: users.size, members };
    },
  };
}
