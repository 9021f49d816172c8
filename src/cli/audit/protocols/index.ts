import { graphqlWsProtocol } from './graphql-ws.js';
import { rawProtocol } from './raw.js';
import { socketIoProtocol } from './socketio.js';
import { PROTOCOL_NAMES, type Protocol, type ProtocolName } from './types.js';
import { wsguardProtocol } from './wsguard.js';

export { GRAPHQL_TRANSPORT_WS } from './graphql-ws.js';
export type { AppProbe, Frame, Link, Opening, Protocol, ProtocolName } from './types.js';
export { PROTOCOL_NAMES } from './types.js';

const BY_NAME: Record<ProtocolName, Protocol> = {
  wsguard: wsguardProtocol,
  raw: rawProtocol,
  'socket.io': socketIoProtocol,
  'graphql-ws': graphqlWsProtocol,
};

/** What `--protocol` accepts. */
export const PROTOCOL_CHOICES = ['auto', ...PROTOCOL_NAMES] as const;
export type ProtocolChoice = (typeof PROTOCOL_CHOICES)[number];

export const isProtocolChoice = (v: string): v is ProtocolChoice =>
  (PROTOCOL_CHOICES as readonly string[]).includes(v);

export const protocolByName = (name: ProtocolName): Protocol => BY_NAME[name];

/**
 * The checks that run against every protocol, with that protocol's probes: transport, origin
 * (CSWSH), the opening without credentials and its deadline, frame, size and input handling, error leaks, and
 * the HTTP-level health and stress checks. Every other check reads or sends wsguard's own
 * messages (`auth_ok`, CSRF tokens, WSG_* codes, its rate limits, dashboard and metrics) and
 * is `n/a` elsewhere; a new check stays wsguard-only until it is listed here.
 */
export const PROTOCOL_GENERIC: ReadonlySet<string> = new Set([
  'transport.plain-ws',
  'transport.tls',
  'transport.permessage-deflate',
  'transport.version-header',
  'transport.oversized-answers',
  'auth.no-token',
  'auth.timeout',
  'origin.legitimate',
  'origin.foreign',
  'origin.null',
  'origin.missing',
  'origin.attacker-subdomain',
  'origin.attacker-prefix',
  'origin.host-suffix',
  'origin.case-variant',
  'origin.other-port',
  'input.size-64k',
  'input.size-1m',
  'input.binary',
  'input.invalid-json',
  'input.deep-nesting',
  'input.prototype-pollution',
  'input.unknown-type',
  'errors.stack-trace',
  'errors.file-path',
  'errors.exception',
  'errors.version',
  'monitoring.healthz',
  'stress.connection-flood',
  'stress.slow-headers',
]);

/** Whether the check `id` runs against a server speaking `protocol`. */
export const appliesTo = (protocol: Protocol, id: string) => protocol.wsguard || PROTOCOL_GENERIC.has(id);
