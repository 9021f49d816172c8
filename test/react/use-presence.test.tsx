// @vitest-environment happy-dom
import { cleanup, render, screen, waitFor } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { SecureWebSocket, type WebSocketConstructor } from '../../src/client/index.js';
import { useChannel, usePresence, useSecureWebSocket } from '../../src/react/index.js';
import { signToken, startServer, type TestServer } from '../helpers/server.js';

let srv: TestServer | undefined;
const others: SecureWebSocket[] = [];
afterEach(async () => {
  cleanup();
  for (const s of others.splice(0)) s.close();
  await srv?.close();
  srv = undefined;
});

function Room({ url, token }: { url: string; token: string }) {
  const ws = useSecureWebSocket({
    url,
    authToken: token,
    WebSocket: WebSocket as unknown as WebSocketConstructor,
    heartbeat: false,
  });
  const room = useChannel(ws.socket, 'room:lobby');
  const here = usePresence(ws.socket, 'room:lobby');
  return (
    <div>
      <span data-testid="state">{room.state}</span>
      <span data-testid="count">{String(here?.count ?? '')}</span>
      <span data-testid="members">{(room.presence?.members ?? []).map((m) => m.userId).join(',')}</span>
      <span data-testid="offsets">{room.publications.map((p) => p.offset).join(',')}</span>
    </div>
  );
}

const text = (id: string) => screen.getByTestId(id).textContent;

describe('usePresence and useChannel on a channel with history and presence (real server)', () => {
  it('show who is here, follow joins and leaves, and carry offsets', async () => {
    srv = await startServer({
      channels: { 'room:{name}': { authorize: () => true, history: true, presence: true } },
      limits: { connectionsPerIp: false },
    });
    render(<Room url={srv.url} token={await signToken('ann')} />);
    await waitFor(() => expect(text('state')).toBe('subscribed'));
    await waitFor(() => expect(text('count')).toBe('1'));
    expect(text('members')).toBe('ann');
    const ben = new SecureWebSocket({
      url: srv.url,
      authToken: await signToken('ben'),
      WebSocket: WebSocket as unknown as WebSocketConstructor,
      heartbeat: false,
    });
    others.push(ben);
    const sub = await ben.subscribe('room:lobby', { onPublication: () => {} });
    await waitFor(() => expect(text('count')).toBe('2'));
    expect(text('members')).toBe('ann,ben');
    await srv.wss.publish('room:lobby', 'chat', { text: 'hi' });
    await srv.wss.publish('room:lobby', 'chat', { text: 'again' });
    await waitFor(() => expect(text('offsets')).toBe('1,2'));
    await sub.unsubscribe();
    await waitFor(() => expect(text('count')).toBe('1'));
    expect(text('members')).toBe('ann');
  });
});
