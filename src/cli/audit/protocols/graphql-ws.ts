import type { AppProbe, Link, Opening, Protocol } from './types.js';
import { nextId, padTo } from './wsguard.js';

/**
 * graphql-ws (the `graphql-transport-ws` subprotocol): `connection_init` → `connection_ack`,
 * then `subscribe` operations answered by `next`/`error`/`complete`. Protocol errors close the
 * socket with 44xx codes (4400 bad request, 4401 unauthorized, 4403 forbidden, 4406
 * subprotocol, 4408 init timeout, 4409 duplicate id, 4429 too many inits).
 */
export const GRAPHQL_TRANSPORT_WS = 'graphql-transport-ws';

/** Valid against every GraphQL schema. */
const HARMLESS_QUERY = '{ __typename }';

/** --payload, when it is a subscribe payload (`{query, variables?}`), else the harmless query. */
function operation(app: AppProbe): { query: string; variables: Record<string, unknown> } {
  const p = app.payload as { query?: unknown; variables?: unknown } | undefined;
  if (p && typeof p === 'object' && typeof p.query === 'string') {
    const v = p.variables;
    return {
      query: p.query,
      variables: v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {},
    };
  }
  return { query: HARMLESS_QUERY, variables: {} };
}

/** A subscribe whose variables get `audit` (raw JSON text) next to the operation's own. */
function subscribe(app: AppProbe, auditJson: string): string {
  const op = operation(app);
  const vars = JSON.stringify({ ...op.variables, audit: '\u0000audit' });
  return JSON.stringify({
    id: nextId(),
    type: 'subscribe',
    payload: { query: op.query, variables: '\u0000vars' },
  }).replace('"\\u0000vars"', () => vars.replace('"\\u0000audit"', () => auditJson));
}

async function open(link: Link, token: string | undefined, timeoutMs: number): Promise<Opening> {
  const init = token === undefined ? {} : { payload: { token, authorization: `Bearer ${token}` } };
  link.sendRaw(JSON.stringify({ type: 'connection_init', ...init }));
  const reply = await link.next(timeoutMs);
  if (reply?.json?.type === 'connection_ack') return { ok: true, received: [reply.text.slice(0, 160)] };
  const c = link.closeInfo();
  const refusal = reply
    ? reply.text.slice(0, 160)
    : c
      ? `closed ${c.code}${c.reason ? ` ${c.reason}` : ''}`
      : `no answer within ${timeoutMs} ms`;
  return { ok: false, refusal, received: [refusal] };
}

export const graphqlWsProtocol: Protocol = {
  name: 'graphql-ws',
  wsguard: false,
  subprotocols: [GRAPHQL_TRANSPORT_WS],
  // ConnectionInitialisationTimeout (`connectionInitWaitTimeout`, 3 s by default).
  openingTimeoutCode: 4408,
  endpoint: (url) => new URL(url.href),
  open,
  background(frame, link) {
    const type = frame.json?.type;
    if (type === 'ping') {
      link.sendRaw('{"type":"pong"}');
      return true;
    }
    // `complete` follows every `next` of a query: it answers no probe of its own.
    return type === 'pong' || type === 'complete';
  },
  isRefusal: (frame) => frame.json?.type === 'error',
  message: (app, payload) => subscribe(app, JSON.stringify(payload)),
  withPayload: (app, payloadJson) => subscribe(app, payloadJson),
  sized: (app, bytes) => padTo(bytes, (pad) => subscribe(app, JSON.stringify(pad))),
  unknownType: () => JSON.stringify({ id: nextId(), type: 'auditUnknownType', payload: {} }),
  truncated: () => '{"type":"subscribe","payload":',
  provocations: (app) => [
    // GraphQL-level errors first: they are answered on the socket; protocol errors close it.
    JSON.stringify({ id: nextId(), type: 'subscribe', payload: { query: '{ auditUnknownField }' } }),
    subscribe(app, '{"toString":"x","valueOf":1}'),
    '{"type":"subscribe","payload":',
    '[]',
    '{"type":123}',
    'null',
  ],
};
