import {
  type MinimalServer,
  type StubConnection,
  startMinimalProtocolServer,
} from './minimal-protocol-server.js';

/**
 * A channel-speaking stub on top of the minimal protocol server, test-only: it answers the
 * v1.1 control messages (subscribe, unsubscribe, publish) exactly as docs/PROTOCOL.md spells
 * them, with refusals chosen by the test. Client tests that need a real server use
 * test/helpers/server.ts; this one lets a test script refusals, `unsubscribed` frames and
 * reconnects precisely.
 */
export interface ChannelStubRules {
  /** The error code refusing this subscribe, or undefined to ack it (with `result`). */
  subscribe?(
    channel: string,
    conn: StubConnection,
    frame: Record<string, unknown>,
  ): string | undefined | { result: Record<string, unknown> };
  /** The error code refusing this publish, or undefined to ack it. */
  publish?(channel: string, event: string, conn: StubConnection): string | undefined;
  /** Answer to any other application message: an error code, or undefined to ack with the payload. */
  message?(type: string, payload: unknown, conn: StubConnection): string | undefined;
}

export interface ChannelStub extends MinimalServer {
  /** Every application or control message received after auth, per connection (1-based). */
  frames(connection: number): Record<string, unknown>[];
  /** Resolves with the nth (1-based) connection once it authenticated. */
  authed(connection: number): Promise<StubConnection>;
  /** Channels subscribed on a connection, as the stub sees them. */
  subscribed(connection: number): Set<string>;
}

export async function startChannelStub(rules: ChannelStubRules = {}): Promise<ChannelStub> {
  const frames = new Map<number, Record<string, unknown>[]>();
  const subs = new Map<number, Set<string>>();
  const authed = new Map<number, StubConnection>();
  const waiters: { index: number; resolve: (c: StubConnection) => void }[] = [];
  const server = await startMinimalProtocolServer(async (conn) => {
    await conn.authenticate();
    const list: Record<string, unknown>[] = [];
    const mine = new Set<string>();
    frames.set(conn.index, list);
    subs.set(conn.index, mine);
    conn.ws.on('message', (data) => {
      const m = JSON.parse(data.toString()) as Record<string, unknown>;
      if (m.type === 'ping') return;
      list.push(m);
      const fail = (code: string) =>
        conn.send({
          type: 'error',
          id: m.id,
          code,
          message: code === 'WSG_FORBIDDEN' ? 'Forbidden' : 'Refused',
        });
      if (m.type === 'subscribe') {
        const channel = m.channel as string;
        const answer = rules.subscribe?.(channel, conn, m);
        if (typeof answer === 'string') return fail(answer);
        mine.add(channel);
        conn.send({ type: 'ack', id: m.id, result: { channel, ...(answer?.result ?? {}) } });
        return;
      }
      if (m.type === 'unsubscribe') {
        mine.delete(m.channel as string);
        conn.send({ type: 'ack', id: m.id });
        return;
      }
      if (m.type === 'publish') {
        const code = rules.publish?.(m.channel as string, m.event as string, conn);
        if (code) return fail(code);
        conn.send({ type: 'ack', id: m.id });
        return;
      }
      const code = rules.message?.(m.type as string, m.payload, conn);
      if (code) return fail(code);
      conn.send({ type: 'ack', id: m.id, result: m.payload });
    });
    authed.set(conn.index, conn);
    for (const w of waiters.splice(0)) {
      if (w.index === conn.index) w.resolve(conn);
      else waiters.push(w);
    }
  });
  return {
    ...server,
    frames: (i) => frames.get(i) ?? [],
    subscribed: (i) => subs.get(i) ?? new Set(),
    authed(i) {
      const c = authed.get(i);
      if (c) return Promise.resolve(c);
      return new Promise((resolve) => waiters.push({ index: i, resolve }));
    },
  };
}
