/**
 * Compile-time checks of the end-to-end types (checked by `tsc -p tsconfig.json`, never run):
 * every `@ts-expect-error` line must fail to compile, or tsc reports the directive as unused.
 */
import { z } from 'zod';
import { createProtocolSocket, type ProtocolSocket, type ServerError } from '../../src/client/index.js';
import { defineProtocol } from '../../src/protocol/index.js';

const chatProtocol = defineProtocol({
  messages: {
    chat: z.object({ room: z.string(), text: z.string().min(1).max(2000) }),
    dm: z.object({ to: z.string(), text: z.string() }),
    lookup: { payload: z.object({ id: z.string() }), result: z.object({ name: z.string() }) },
  },
  events: {
    notice: z.object({ text: z.string() }),
  },
  channels: {
    'room:{name}': {
      publish: { typing: z.object({}) },
      events: { chat: z.object({ from: z.string(), text: z.string(), at: z.number() }) },
    },
    'room:staff': { events: { alert: z.object({ level: z.number() }) } },
    'user:{id}': { events: { dm: z.object({ from: z.string(), text: z.string(), at: z.number() }) } },
  },
});

declare const socket: ProtocolSocket<typeof chatProtocol>;

// Messages: typed payloads and ack results.
void socket.send({ type: 'chat', payload: { room: 'general', text: 'hi' } });
const name: Promise<{ name: string }> = socket.send({ type: 'lookup', payload: { id: 'u1' } });
void name;
// @ts-expect-error unknown message type
void socket.send({ type: 'chta', payload: { room: 'general', text: 'hi' } });
// @ts-expect-error payload field missing
void socket.send({ type: 'chat', payload: { text: 'hi' } });
// @ts-expect-error payload field of the wrong type
void socket.send({ type: 'dm', payload: { to: 42, text: 'x' } });
// @ts-expect-error the result is not a number
const wrong: Promise<number> = socket.send({ type: 'lookup', payload: { id: 'u1' } });
void wrong;

// Server events.
socket.on('notice', (p) => p.text.toUpperCase());
// @ts-expect-error no such field on the notice payload
socket.on('notice', (p) => p.level);
// @ts-expect-error no such server event
socket.on('nope', () => {});

// Channels: names follow the patterns; publications are typed by event.
void socket.subscribe('room:general', {
  onPublication(p) {
    if (p.event === 'chat') {
      const text: string = p.payload.text;
      const at: number = p.payload.at;
      void text;
      void at;
    } else {
      const typing: 'typing' = p.event;
      void typing;
    }
  },
});
void socket.subscribe('user:u1', {
  onPublication(p) {
    const from: string = p.payload.from;
    void from;
    // @ts-expect-error user channels carry no typing event
    void (p.event === 'typing');
  },
});
void socket.subscribe('room:staff', {
  onPublication(p) {
    if (p.event === 'alert') {
      const level: number = p.payload.level;
      void level;
    }
  },
});
// @ts-expect-error no pattern matches this channel
void socket.subscribe('lobby:main', { onPublication: () => {} });
// @ts-expect-error a payload field the chat event does not have
void socket.subscribe('room:general', { onPublication: (p) => p.event === 'chat' && p.payload.nope });

void socket.publish('room:general', 'typing', {});
// @ts-expect-error chat is published by the server only, not by clients
void socket.publish('room:general', 'chat', { from: 'x', text: 'y', at: 1 });
// @ts-expect-error user channels declare nothing clients may publish
void socket.publish('user:u1', 'typing', {});
// @ts-expect-error no pattern matches this channel
void socket.publish('lobby:main', 'typing', {});

// The factory takes only the type, so the client bundle need not import the schemas.
const typed = createProtocolSocket<typeof chatProtocol>({ url: 'ws://localhost/ws', authToken: 't' });
// @ts-expect-error unknown message type
void typed.send({ type: 'nope', payload: 1 });

// Refusals carry the server's code, wsguard's or the app's own.
declare const err: ServerError;
const code: string = err.code;
void code;
if (err.code === 'APP_NOT_FOUND' || err.code === 'WSG_FORBIDDEN') void err.message;
