import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP } from 'node:net';

/** A loopback address or the name `localhost` itself, without asking DNS. */
export function isLoopback(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h);
}

export type Lookup = (host: string) => Promise<string[]>;
const systemLookup: Lookup = async (host) =>
  (await dnsLookup(host, { all: true, verbatim: true })).map((a) => a.address);

/**
 * Loopback once resolved: `*.localhost` names are loopback only by convention, and a resolver
 * (a hosts file, a corporate DNS) can point them anywhere, so every address must be loopback.
 */
export async function resolvesToLoopback(hostname: string, lookup: Lookup = systemLookup): Promise<boolean> {
  const h = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (isIP(h)) return isLoopback(h);
  if (h === 'localhost') return true;
  try {
    const addresses = await lookup(h);
    return addresses.length > 0 && addresses.every(isLoopback);
  } catch {
    return false;
  }
}
