// @vitest-environment happy-dom
import { act, cleanup, render, screen, waitFor } from '@testing-library/react';
import { StrictMode } from 'react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import { z } from 'zod';
import type { WebSocketConstructor } from '../../src/client/index.js';
import { useSecureWebSocket } from '../../src/react/index.js';
import { signToken, startServer, type TestServer } from '../helpers/server.js';

let srv: TestServer | undefined;
let upgrades = 0;
afterEach(async () => {
  vi.restoreAllMocks();
  cleanup();
  await srv?.close();
  srv = undefined;
});

async function serve() {
  srv = await startServer({ messages: { echo: z.unknown() }, handlers: { echo: (_c, p) => p } });
  upgrades = 0;
  srv.http.on('upgrade', () => upgrades++);
  return srv;
}

const token = await signToken('hooked');
let lastSend: ((m: { type: string; payload: unknown }) => Promise<unknown>) | undefined;

function Probe({ url, onMessage }: { url: string; onMessage?: () => void }) {
  const ws = useSecureWebSocket({
    url,
    authToken: token,
    WebSocket: WebSocket as unknown as WebSocketConstructor,
    heartbeat: false,
    ...(onMessage ? { onMessage } : {}),
  });
  lastSend = ws.send as never;
  return (
    <p>
      <span data-testid="state">{ws.state}</span>
      <span data-testid="queued">{ws.queueSize}</span>
    </p>
  );
}

const shown: string[] = [];
function Paced({ url }: { url: string }) {
  const ws = useSecureWebSocket({
    url,
    authToken: token,
    WebSocket: WebSocket as unknown as WebSocketConstructor,
    heartbeat: false,
  });
  lastSend = ws.send as never;
  const text = ws.waitReason === 'paced' ? 'sending slower: server limit' : 'ok';
  if (shown.at(-1) !== text) shown.push(text);
  return (
    <p>
      <span data-testid="state">{ws.state}</span>
      <span data-testid="queued">{ws.queueSize}</span>
      <span data-testid="pacing">{text}</span>
    </p>
  );
}

describe('useSecureWebSocket', () => {
  it('opens exactly one socket under StrictMode and closes it on unmount', async () => {
    const s = await serve();
    const view = render(
      <StrictMode>
        <Probe url={s.url} />
      </StrictMode>,
    );
    await waitFor(() => expect(screen.getByTestId('state').textContent).toBe('open'));
    expect(upgrades).toBe(1);
    expect(s.wss.stats().socketsOpen).toBe(1);
    await expect(lastSend?.({ type: 'echo', payload: 42 })).resolves.toBe(42);
    view.unmount();
    await waitFor(() => expect(s.wss.stats().socketsOpen).toBe(0));
    expect(upgrades).toBe(1);
  });

  it('a new URL reconnects; a new onMessage does not', async () => {
    const s = await serve();
    const view = render(<Probe url={s.url} onMessage={() => {}} />);
    await waitFor(() => expect(screen.getByTestId('state').textContent).toBe('open'));
    view.rerender(<Probe url={s.url} onMessage={() => {}} />);
    await act(() => new Promise((r) => setTimeout(r, 100)));
    expect(upgrades).toBe(1);
    view.rerender(<Probe url={`${s.url}?v=2`} onMessage={() => {}} />);
    await waitFor(() => expect(upgrades).toBe(2));
    await waitFor(() => expect(screen.getByTestId('state').textContent).toBe('open'));
    await waitFor(() => expect(s.wss.stats().socketsOpen).toBe(1));
  });

  it('a send captured under URL A rejects after the URL changed to B: nothing reaches B, no extra connection', async () => {
    const s = await serve();
    const view = render(<Probe url={s.url} />);
    await waitFor(() => expect(screen.getByTestId('state').textContent).toBe('open'));
    const staleSend = lastSend;
    view.rerender(<Probe url={`${s.url}?v=2`} />);
    await waitFor(() => expect(screen.getByTestId('state').textContent).toBe('open'));
    expect(upgrades).toBe(2);
    // Before: the stale send opened a third client (to B, with the latest token) and was delivered there.
    await expect(staleSend?.({ type: 'echo', payload: 'from A' })).rejects.toMatchObject({
      name: 'ClosedError',
      maybeHandled: false,
    });
    await act(() => new Promise((r) => setTimeout(r, 100)));
    expect(upgrades).toBe(2);
    expect(s.wss.stats().socketsOpen).toBe(1);
  });

  it('a send after unmount rejects and opens no connection that could outlive the component', async () => {
    const s = await serve();
    const view = render(<Probe url={s.url} />);
    await waitFor(() => expect(screen.getByTestId('state').textContent).toBe('open'));
    const staleSend = lastSend;
    view.unmount();
    await waitFor(() => expect(s.wss.stats().socketsOpen).toBe(0));
    await expect(staleSend?.({ type: 'echo', payload: 1 })).rejects.toMatchObject({ name: 'ClosedError' });
    await new Promise((r) => setTimeout(r, 100));
    expect(upgrades).toBe(1);
    expect(s.wss.stats().socketsOpen).toBe(0);
  });

  it('follows the queue from queue events: queued before the socket opens, 0 once flushed, with no interval timer', async () => {
    const s = await serve();
    const intervals = hookIntervals();
    seen = [];
    render(<Queued url={s.url} />);
    // Sent before the first tick: the hook opens the client, which queues until auth_ok.
    let sent: Promise<unknown> | undefined;
    act(() => {
      sent = lastSend?.({ type: 'echo', payload: 7 });
    });
    await waitFor(() => expect(seen).toContain(1));
    await expect(sent).resolves.toBe(7);
    await waitFor(() => expect(screen.getByTestId('queued').textContent).toBe('0'));
    expect(seen).toEqual([0, 1, 0]);
    expect(intervals).toEqual([]);
  });

  it('shows pacing from queue events: "sending slower: server limit" while paced, gone once sent; no interval timer', async () => {
    srv = await startServer({
      messages: { echo: z.unknown() },
      handlers: { echo: (_c, p) => p },
      limits: { messages: { rate: 4, burst: 2 } },
    });
    const intervals = hookIntervals();
    shown.length = 0;
    render(<Paced url={srv.url} />);
    await waitFor(() => expect(screen.getByTestId('state').textContent).toBe('open'));
    let sent: Promise<unknown>[] = [];
    act(() => {
      sent = [1, 2, 3, 4].map((n) => lastSend?.({ type: 'echo', payload: n }) as Promise<unknown>);
    });
    await waitFor(() =>
      expect(screen.getByTestId('pacing').textContent).toBe('sending slower: server limit'),
    );
    expect(Number(screen.getByTestId('queued').textContent)).toBeGreaterThan(0);
    await expect(Promise.all(sent)).resolves.toEqual([1, 2, 3, 4]);
    await waitFor(() => expect(screen.getByTestId('pacing').textContent).toBe('ok'));
    expect(shown).toEqual(['ok', 'sending slower: server limit', 'ok']);
    expect(intervals).toEqual([]);
  });

  it("shows latency from the client's latency events, with no interval timer of its own", async () => {
    const s = await serve();
    const intervals = hookIntervals();
    render(<Latency url={s.url} />);
    // The first heartbeat ping goes out at auth_ok (the next in a minute); its pong is the first latency event.
    await waitFor(() => expect(screen.getByTestId('latency').textContent).toBe('measured'));
    expect(intervals).toEqual([]);
  });
});

/** Records every setInterval call made from the hook's file (waitFor and the client's heartbeat have their own). */
function hookIntervals(): string[] {
  const calls: string[] = [];
  const real = globalThis.setInterval;
  vi.spyOn(globalThis, 'setInterval').mockImplementation(((...args: Parameters<typeof setInterval>) => {
    const stack = new Error().stack ?? '';
    if (stack.includes('use-secure-websocket.ts')) calls.push(stack);
    return real(...args);
  }) as typeof setInterval);
  return calls;
}

let seen: number[] = [];

function Queued({ url }: { url: string }) {
  const ws = useSecureWebSocket({
    url,
    authToken: token,
    WebSocket: WebSocket as unknown as WebSocketConstructor,
    heartbeat: false,
  });
  lastSend = ws.send as never;
  if (seen.at(-1) !== ws.queueSize) seen.push(ws.queueSize);
  return <span data-testid="queued">{ws.queueSize}</span>;
}

function Latency({ url }: { url: string }) {
  const ws = useSecureWebSocket({
    url,
    authToken: token,
    WebSocket: WebSocket as unknown as WebSocketConstructor,
    heartbeat: { intervalMs: 60_000, timeoutMs: 10_000 },
  });
  return <span data-testid="latency">{ws.latencyMs === undefined ? 'none' : 'measured'}</span>;
}
