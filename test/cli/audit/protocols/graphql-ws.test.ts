import { describe, expect, it } from 'vitest';
import {
  GRAPHQL_TRANSPORT_WS,
  graphqlWsProtocol as gql,
} from '../../../../src/cli/audit/protocols/graphql-ws.js';
import type { Frame, Link } from '../../../../src/cli/audit/protocols/types.js';

const json = (text: string): Frame => ({
  text,
  binary: false,
  json: JSON.parse(text) as Record<string, unknown>,
});
const app = { type: 'echo', payload: undefined };

function scripted(frames: string[], close?: { code: number; reason: string }) {
  const sent: string[] = [];
  const link: Link = {
    sendRaw: (d) => sent.push(String(d)),
    next: async () => {
      const t = frames.shift();
      return t === undefined ? undefined : json(t);
    },
    closeInfo: () => (frames.length === 0 ? close : undefined),
  };
  return { link, sent };
}

describe('graphql-ws framing', () => {
  it('offers graphql-transport-ws and keeps the URL', () => {
    expect(gql.subprotocols).toEqual([GRAPHQL_TRANSPORT_WS]);
    expect(gql.endpoint(new URL('ws://h:1/graphql')).href).toBe('ws://h:1/graphql');
  });

  it('subscribes to { __typename } with the probe in variables.audit, a fresh id each time', () => {
    const a = JSON.parse(gql.message(app, { x: 1 })) as Record<string, unknown>;
    const b = JSON.parse(gql.message(app, { x: 1 })) as Record<string, unknown>;
    expect(a).toEqual({
      id: expect.any(String),
      type: 'subscribe',
      payload: { query: '{ __typename }', variables: { audit: { x: 1 } } },
    });
    expect(a.id).not.toBe(b.id);
    expect(JSON.parse(gql.withPayload(app, '[[1]]'))).toMatchObject({
      payload: { variables: { audit: [[1]] } },
    });
    // `$` sequences in the payload are not replacement patterns.
    expect(JSON.parse(gql.withPayload(app, '"$&$1"'))).toMatchObject({
      payload: { variables: { audit: '$&$1' } },
    });
  });

  it('uses --payload as the operation when it is a subscribe payload', () => {
    const op = { query: 'query Q($n: Int) { hello(n: $n) }', variables: { n: 1 } };
    expect(JSON.parse(gql.message({ type: 'x', payload: op }, 'p'))).toMatchObject({
      payload: { query: op.query, variables: { n: 1, audit: 'p' } },
    });
  });

  it('builds a sized subscribe of exactly the bytes asked', () => {
    for (const bytes of [200, 64 * 1024 + 1]) {
      const m = gql.sized(app, bytes);
      expect(m).toHaveLength(bytes);
      expect(JSON.parse(m)).toMatchObject({ type: 'subscribe' });
    }
  });

  it('answers pings, swallows pong and complete; error messages are refusals', () => {
    const { link, sent } = scripted([]);
    expect(gql.background(json('{"type":"ping"}'), link)).toBe(true);
    expect(sent).toEqual(['{"type":"pong"}']);
    expect(gql.background(json('{"type":"complete","id":"1"}'), link)).toBe(true);
    expect(gql.background(json('{"type":"next","id":"1","payload":{}}'), link)).toBe(false);
    expect(gql.isRefusal(json('{"type":"error","id":"1","payload":[]}'))).toBe(true);
    expect(gql.isRefusal(json('{"type":"next","id":"1","payload":{}}'))).toBe(false);
  });

  it('opens with connection_init (token in the payload) and waits for connection_ack', async () => {
    const ok = scripted(['{"type":"connection_ack"}']);
    await expect(gql.open?.(ok.link, 'tok', 100)).resolves.toMatchObject({ ok: true });
    expect(JSON.parse(ok.sent[0] ?? '')).toEqual({
      type: 'connection_init',
      payload: { token: 'tok', authorization: 'Bearer tok' },
    });
    const bare = scripted(['{"type":"connection_ack"}']);
    await gql.open?.(bare.link, undefined, 100);
    expect(bare.sent).toEqual(['{"type":"connection_init"}']);
    const forbidden = scripted([], { code: 4403, reason: 'Forbidden' });
    await expect(gql.open?.(forbidden.link, undefined, 100)).resolves.toEqual({
      ok: false,
      refusal: 'closed 4403 Forbidden',
      received: ['closed 4403 Forbidden'],
    });
  });

  it('provokes GraphQL errors before protocol errors (which close the socket)', () => {
    const [first, second, ...rest] = gql.provocations(app);
    expect(JSON.parse(first ?? '')).toMatchObject({
      type: 'subscribe',
      payload: { query: '{ auditUnknownField }' },
    });
    expect(JSON.parse(second ?? '')).toMatchObject({ type: 'subscribe' });
    expect(rest).toContain('null');
  });
});
