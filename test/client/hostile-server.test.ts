import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  AuthError,
  InboundTooLargeError,
  SecureWebSocket,
  type SecureWebSocketOptions,
} from '../../src/client/index.js';
import {
  type HostileClientMode,
  type HostileOptions,
  type HostileServer,
  startHostileServer,
} from '../fixtures/hostile-server.js';
import { nextEvent, reachState, sleep } from '../helpers/client.js';

let srv: HostileServer | undefined;
const clients: SecureWebSocket[] = [];
const overflowWarnings: Error[] = [];
const onWarning = (w: Error) => {
  if (w.name === 'TimeoutOverflowWarning') overflowWarnings.push(w);
};
beforeEach(() => {
  overflowWarnings.length = 0;
  process.on('warning', onWarning);
});
afterEach(async () => {
  process.off('warning', onWarning);
  for (const c of clients.splice(0)) c.close();
  await srv?.close();
  srv = undefined;
});

async function hostile(mode: HostileClientMode, options?: HostileOptions) {
  srv = await startHostileServer(mode, options);
  return srv;
}

function client(options: Omit<SecureWebSocketOptions, 'url'>) {
  const c = new SecureWebSocket({ url: (srv as HostileServer).url, ...options });
  c.addEventListener('error', () => {});
  clients.push(c);
  return c;
}

const framesOf = (type: string) => (srv as HostileServer).received.filter((m) => m.type === type).length;

describe('a hostile server cannot loop the refresh', () => {
  it('keeps a floor between refreshes however often session_expiring comes', async () => {
    await hostile('refresh-loop');
    let calls = 0;
    const c = client({ getToken: () => `token-${++calls}` });
    await reachState(c, 'open');
    await sleep(1500);
    // Before: tens of thousands of refreshes and getToken() calls in this window.
    expect(framesOf('refresh')).toBe(1);
    expect(calls).toBe(2);
    expect(c.state).toBe('open');
  });
});

describe('a refused refresh does not start a reconnect storm', () => {
  for (const mode of ['refresh-refused', 'refresh-refused-4401'] as const) {
    it(`${mode}: backs off, reconnects once with a fresh token, and stops at the next refusal although auth_ok came between`, async () => {
      const server = await hostile(mode);
      let calls = 0;
      const c = client({
        getToken: () => `token-${++calls}`,
        reconnect: { minDelayMs: 200, maxDelayMs: 400 },
      });
      const first = await nextEvent(c, 'close');
      expect(first).toMatchObject({ code: 4401, cause: 'refresh-failed', willReconnect: true });
      expect(first.willReconnect && first.delayMs).toBeGreaterThanOrEqual(200);
      const last = await nextEvent(c, 'close', (e) => !e.willReconnect, 15_000);
      expect(last.error).toBeInstanceOf(AuthError);
      expect(c.state).toBe('closed');
      // Before: thousands of upgrades and getToken() calls in 5 s.
      expect(server.upgrades).toBe(2);
      expect(calls).toBe(4);
      expect(framesOf('refresh')).toBe(2);
    }, 20_000);
  }
});

describe('huge retry-after values are clamped and every timer fits 32 bits', () => {
  it('an error reply pauses sends for at most a minute, and the pause ends on reconnect', async () => {
    const server = await hostile('huge-retry-error');
    const c = client({ authToken: 'tok-abcdefgh' });
    await reachState(c, 'open');
    const sent = c.send({ type: 'chat', payload: 1 });
    await nextEvent(c, 'queue', (e) => e.paused);
    await sleep(200);
    expect(overflowWarnings).toHaveLength(0);
    server.mode = 'friendly';
    server.dropAll();
    // Before: the pause outlived the reconnect and the send never went out.
    await expect(sent).resolves.toBe(true);
    expect(overflowWarnings).toHaveLength(0);
  });

  it('a close reason asking for decades waits the documented 10 minutes at most', async () => {
    await hostile('huge-retry-close');
    const c = client({ authToken: 'tok-abcdefgh' });
    const close = await nextEvent(c, 'close');
    expect(close).toMatchObject({ code: 4429, willReconnect: true, retryAfterMs: 600_000 });
    expect(close.willReconnect && close.delayMs).toBe(600_000);
    await sleep(200);
    expect(overflowWarnings).toHaveLength(0);
    expect(c.state).toBe('reconnecting');
    expect(srv?.upgrades).toBe(1);
  });

  it('a Retry-After header asking for decades waits the documented 10 minutes at most', async () => {
    await hostile('huge-retry-header');
    const c = client({ authToken: 'tok-abcdefgh' });
    const close = await nextEvent(c, 'close');
    expect(close).toMatchObject({ httpStatus: 429, willReconnect: true, retryAfterMs: 600_000 });
    await sleep(200);
    expect(overflowWarnings).toHaveLength(0);
    expect(srv?.upgrades).toBe(1);
  });
});

describe('inbound messages are bounded', () => {
  it('does not offer permessage-deflate and stops reading a 50 MB event at the bound (close 1009, typed error)', async () => {
    const server = await hostile('huge-message', { hugeBytes: 50_000_000 });
    const delivered: unknown[] = [];
    const rssBefore = process.memoryUsage().rss;
    const c = client({ authToken: 'tok-abcdefgh', onMessage: (m) => delivered.push(m) });
    const error = nextEvent(c, 'error', (e) => e instanceof InboundTooLargeError, 10_000);
    const close = await nextEvent(c, 'close', () => true, 10_000);
    expect(close).toMatchObject({ code: 1009, willReconnect: true });
    expect(await error).toBeInstanceOf(InboundTooLargeError);
    expect(server.deflateOffered).toBe(false);
    expect(delivered).toHaveLength(0);
    const grownMb = (process.memoryUsage().rss - rssBefore) / 1e6;
    console.log(`inbound bound: rss grew ${grownMb.toFixed(0)} MB (the server's own 50 MB frame included)`);
    expect(grownMb).toBeLessThan(300);
  }, 20_000);

  it('refuses an event over the announced maxPayload (64 KiB) though under the socket bound', async () => {
    await hostile('huge-message', { hugeBytes: 200_000 });
    const delivered: unknown[] = [];
    const c = client({ authToken: 'tok-abcdefgh', onMessage: (m) => delivered.push(m) });
    const error = nextEvent(c, 'error', (e) => e instanceof InboundTooLargeError);
    const close = nextEvent(c, 'close');
    expect(((await error) as InboundTooLargeError).limit).toBe(65_536);
    expect(await close).toMatchObject({ code: 1009, cause: 'too-large', willReconnect: true });
    expect(delivered).toHaveLength(0);
  });
});

describe('what a server says is bounded and checked', () => {
  it('does not deliver events with own __proto__ or constructor.prototype keys', async () => {
    await hostile('polluting-events');
    const delivered: { type: string }[] = [];
    const c = client({ authToken: 'tok-abcdefgh', onMessage: (m) => delivered.push(m as { type: string }) });
    await reachState(c, 'open');
    await sleep(200);
    expect(delivered.map((m) => m.type)).toEqual(['clean']);
    expect(({} as { polluted?: unknown }).polluted).toBeUndefined();
  });

  it('refuses a 100 KB CSRF token in auth_ok: closes with 1002 and sends nothing with it', async () => {
    const server = await hostile('huge-csrf');
    const c = client({ authToken: 'tok-abcdefgh' });
    const sent = c.send({ type: 'chat', payload: 1 }).catch((e: unknown) => e);
    const close = await nextEvent(c, 'close');
    expect(close).toMatchObject({ code: 1002, cause: 'protocol', willReconnect: false });
    expect(await sent).toBeInstanceOf(Error);
    expect(server.received.filter((m) => m.type === 'chat')).toHaveLength(0);
  });

  it('a 10 MB CSRF token trips the inbound bound before it is parsed', async () => {
    await hostile('huge-csrf', { csrfBytes: 10_000_000 });
    const c = client({ authToken: 'tok-abcdefgh' });
    expect(await nextEvent(c, 'close')).toMatchObject({ code: 1009, willReconnect: true });
  });

  it('logs the session id shortened and never a CSRF token the client held', async () => {
    await hostile('friendly', { sessionId: 'session-0123456789abcdef' });
    const lines: string[] = [];
    const c = client({
      authToken: 'tok-abcdefgh',
      debug: true,
      logger: { debug: (msg, ctx) => lines.push(`${msg} ${JSON.stringify(ctx ?? {})}`) },
    });
    await reachState(c, 'open');
    const text = lines.join('\n');
    expect(text).toContain('sessio…');
    expect(text).not.toContain('session-0123456789abcdef');
    expect(text).not.toMatch(/csrf-\d+-abcdefghijkl/);
  });
});
