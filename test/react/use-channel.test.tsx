// @vitest-environment happy-dom
import { act, cleanup, render, screen, waitFor } from '@testing-library/react';
import { StrictMode } from 'react';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { ServerError, WebSocketConstructor } from '../../src/client/index.js';
import { useChannel, useSecureWebSocket } from '../../src/react/index.js';
import { type ChannelStub, startChannelStub } from '../client/channel-stub.js';

let stub: ChannelStub | undefined;
afterEach(async () => {
  cleanup();
  await stub?.close();
  stub = undefined;
});

interface RoomProps {
  url: string;
  channel: string | undefined;
  limit?: number;
  /** Unmount only the channel's component, the socket stays. */
  hidden?: boolean;
}

function Room({ url, hidden, ...rest }: RoomProps) {
  const ws = useSecureWebSocket({
    url,
    authToken: 'token',
    WebSocket: WebSocket as unknown as WebSocketConstructor,
    heartbeat: false,
    reconnect: { minDelayMs: 10, maxDelayMs: 20 },
  });
  return hidden ? <p>hidden</p> : <Channel socket={ws.socket} {...rest} />;
}

function Channel({
  socket,
  channel,
  limit,
}: Omit<RoomProps, 'url'> & { socket: ReturnType<typeof useSecureWebSocket>['socket'] }) {
  const room = useChannel(socket, channel, limit === undefined ? {} : { limit });
  return (
    <div>
      <span data-testid="state">{room.state}</span>
      <span data-testid="error">{(room.error as ServerError | undefined)?.code ?? ''}</span>
      <ol data-testid="list">
        {room.publications.map((p, i) => (
          // biome-ignore lint/suspicious/noArrayIndexKey: test output only
          <li key={i}>{String(p.payload)}</li>
        ))}
      </ol>
    </div>
  );
}

const text = (id: string) => screen.getByTestId(id).textContent;
const items = () => [...screen.getByTestId('list').querySelectorAll('li')].map((li) => li.textContent);

describe('useChannel', () => {
  it('subscribes once under StrictMode, lists publications (bounded), and unsubscribes on unmount', async () => {
    stub = await startChannelStub();
    const view = render(
      <StrictMode>
        <Room url={stub.url} channel="room:general" limit={3} />
      </StrictMode>,
    );
    await waitFor(() => expect(text('state')).toBe('subscribed'));
    const conn = await stub.authed(1);
    await waitFor(() => expect(stub?.subscribed(1).has('room:general')).toBe(true));
    for (let i = 1; i <= 5; i++) {
      conn.send({ type: 'publication', channel: 'room:general', event: 'chat', payload: `m${i}` });
    }
    await waitFor(() => expect(items()).toEqual(['m3', 'm4', 'm5']));
    view.rerender(
      <StrictMode>
        <Room url={stub.url} channel="room:general" limit={3} hidden />
      </StrictMode>,
    );
    await waitFor(() => expect(stub?.subscribed(1).has('room:general')).toBe(false));
    expect(stub.frames(1).map((f) => f.type)).toEqual(['subscribe', 'unsubscribe']);
    view.unmount();
    // no socket opened twice, no subscription left behind
    expect(stub.connections).toHaveLength(1);
  });

  it('a channel change unsubscribes the old one and starts a fresh list', async () => {
    stub = await startChannelStub();
    const view = render(<Room url={stub.url} channel="room:general" />);
    await waitFor(() => expect(text('state')).toBe('subscribed'));
    const conn = await stub.authed(1);
    conn.send({ type: 'publication', channel: 'room:general', event: 'chat', payload: 'old' });
    await waitFor(() => expect(items()).toEqual(['old']));
    view.rerender(<Room url={stub.url} channel="room:random" />);
    await waitFor(() => expect(stub?.subscribed(1)).toEqual(new Set(['room:random'])));
    await waitFor(() => expect(text('state')).toBe('subscribed'));
    expect(items()).toEqual([]);
    conn.send({ type: 'publication', channel: 'room:general', event: 'chat', payload: 'ignored' });
    conn.send({ type: 'publication', channel: 'room:random', event: 'chat', payload: 'new' });
    await waitFor(() => expect(items()).toEqual(['new']));
    view.rerender(<Room url={stub.url} channel={undefined} />);
    await waitFor(() => expect(text('state')).toBe('idle'));
    await waitFor(() => expect(stub?.subscribed(1).size).toBe(0));
  });

  it('shows a refused subscription with its code, and an unsubscribed one', async () => {
    stub = await startChannelStub({ subscribe: (ch) => (ch === 'room:staff' ? 'WSG_FORBIDDEN' : undefined) });
    const view = render(<Room url={stub.url} channel="room:staff" />);
    await waitFor(() => expect(text('state')).toBe('unsubscribed'));
    expect(text('error')).toBe('WSG_FORBIDDEN');
    view.rerender(<Room url={stub.url} channel="room:general" />);
    await waitFor(() => expect(text('state')).toBe('subscribed'));
    expect(text('error')).toBe('');
    const conn = await stub.authed(1);
    await act(async () => {
      conn.send({ type: 'unsubscribed', channel: 'room:general', code: 'WSG_FORBIDDEN' });
    });
    await waitFor(() => expect(text('state')).toBe('unsubscribed'));
    expect(text('error')).toBe('WSG_FORBIDDEN');
  });

  it('goes back to subscribing while reconnecting and to subscribed once the server acked again', async () => {
    stub = await startChannelStub();
    render(<Room url={stub.url} channel="room:general" />);
    await waitFor(() => expect(text('state')).toBe('subscribed'));
    (await stub.authed(1)).ws.close(1001, 'WSG_SHUTTING_DOWN');
    await stub.authed(2);
    await waitFor(() => expect(stub?.subscribed(2).has('room:general')).toBe(true));
    await waitFor(() => expect(text('state')).toBe('subscribed'));
    (await stub.authed(2)).send({
      type: 'publication',
      channel: 'room:general',
      event: 'chat',
      payload: 'back',
    });
    await waitFor(() => expect(items()).toEqual(['back']));
  });
});
