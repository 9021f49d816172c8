import { afterEach, describe, expect, it } from 'vitest';
import {
  type AppIncoming,
  createAppSocket,
  defaultSocketUrl,
  SecureWebSocket,
  ServerError,
} from '../../client/src/utils/secureWebSocket.js';
import { messages } from '../../server/websocket.js';
import { nextEvent } from '../helpers/client.js';
import { signToken, startServer, type TestServer } from '../helpers/server.js';

let srv: TestServer | undefined;
afterEach(async () => {
  delete (globalThis as { location?: unknown }).location;
  await srv?.close();
  srv = undefined;
});

describe('the demo app client module (client/src/utils/secureWebSocket.ts)', () => {
  it('defaults the URL to the page host in a browser, else the demo server', () => {
    expect(defaultSocketUrl()).toBe('ws://localhost:3000/ws');
    Object.defineProperty(globalThis, 'location', {
      value: { protocol: 'https:', host: 'chat.example.com' },
      configurable: true,
    });
    expect(defaultSocketUrl()).toBe('wss://chat.example.com/ws');
  });

  it("speaks the demo's messages (its own schemas) with types: echo acks, chat broadcasts, bad chat is refused", async () => {
    srv = await startServer({
      messages,
      handlers: {
        echo: (_ctx, payload) => payload,
        chat: (ctx, { text }) => ctx.broadcast('chat', { from: ctx.user.id, text, at: 1 }),
      },
    });
    const socket = createAppSocket({ url: srv.url, authToken: await signToken('demo-user') });
    expect(socket).toBeInstanceOf(SecureWebSocket);
    const lines: AppIncoming['chat'][] = [];
    socket.on('chat', (line) => lines.push(line));
    const event = nextEvent(socket, 'message');
    await expect(socket.send({ type: 'echo', payload: { n: 1 } })).resolves.toEqual({ n: 1 });
    await expect(socket.send({ type: 'chat', payload: { text: 'hello' } })).resolves.toBeUndefined();
    await event;
    expect(lines).toEqual([{ from: 'demo-user', text: 'hello', at: 1 }]);
    await expect(socket.send({ type: 'chat', payload: { text: '' } })).rejects.toBeInstanceOf(ServerError);
    // The generics check what the app sends (these reach the server anyway, and are refused there).
    // @ts-expect-error: not one of the app's message types
    await expect(socket.send({ type: 'nope', payload: 1 })).rejects.toMatchObject({
      code: 'WSG_UNKNOWN_TYPE',
    });
    // @ts-expect-error: a chat payload is { text }
    await expect(socket.send({ type: 'chat', payload: { words: 'x' } })).rejects.toMatchObject({
      code: 'WSG_VALIDATION_FAILED',
    });
    socket.close();
  });
});
