import { isIP } from 'node:net';

const MAPPED_V4 = /^(?:::|(?:0{1,4}:){5})ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i;

/**
 * What an address is limited and blocked as: an IPv4 address itself, an IPv6 address by its
 * /64 (one subscriber usually holds a whole /64, so per-address keys would let one client
 * rotate through 2^64 of them).
 */
export function ipKey(ip: string): string {
  if (isIP(ip) !== 6) return ip;
  // An IPv4 address written as IPv6 (as a dual-stack socket reports it) is that IPv4 address.
  const mapped = MAPPED_V4.exec(ip)?.[1];
  if (mapped !== undefined) return mapped;
  const [head = '', tail = ''] = ip.toLowerCase().split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === '' ? [] : tail.split(':');
  const groups = ip.includes('::')
    ? [...left, ...Array(8 - left.length - right.length).fill('0'), ...right]
    : left;
  return `${groups
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}

// Store keys of the rate-limit layers, spelled once.
export const keys = {
  ban: (ip: string) => `ban:ip:${ipKey(ip)}`,
  ipBlock: (ip: string) => `block:ip:${ipKey(ip)}`,
  userBlock: (user: string) => `block:user:${user}`,
  authBlock: (ip: string) => `block:auth:${ipKey(ip)}`,
  attempts: (ip: string) => `attempts:${ipKey(ip)}`,
  authFailures: (ip: string) => `authfail:${ipKey(ip)}`,
  userSockets: (user: string) => `sockets:user:${user}`,
  userRate: (user: string) => `rate:user:${user}`,
  typeRate: (type: string, user: string) => `rate:type:${type}:${user}`,
  offences: (key: string) => `offences:${key}`,
};
