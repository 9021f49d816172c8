import type { AppProbe, Frame, Link, Opening, Protocol } from './types.js';
import { padPayload, padTo } from './wsguard.js';

/**
 * Socket.IO v4 over its WebSocket transport (Engine.IO 4): the server opens with `0{"sid"…}`,
 * the client connects the main namespace with `40` (credentials in `40{"token":…}`), and
 * events go as `42<ack id>["event",…]`, acknowledged with `43<ack id>[…]`.
 */

let ack = 0;
const nextAck = () => {
  ack = (ack + 1) % 1_000_000;
  return ack;
};

/** `42<ack>["type", payload]`: the ack id asks the server to answer, which shows it handled it. */
const event = (name: string, argsJson: string) => `42${nextAck()}[${JSON.stringify(name)},${argsJson}]`;

const shortText = (t: string) => (t.length > 160 ? `${t.slice(0, 160)}…` : t);

/** The first argument of an ack (`43<id>[arg,…]`), when it parses. */
function ackArgument(text: string): unknown {
  const m = /^43\d*(\[[\s\S]*\])$/.exec(text);
  if (!m?.[1]) return undefined;
  try {
    return (JSON.parse(m[1]) as unknown[])[0];
  } catch {
    return undefined;
  }
}

async function open(link: Link, token: string | undefined, timeoutMs: number): Promise<Opening> {
  const received: string[] = [];
  const hello = await link.next(timeoutMs);
  if (!hello?.text.startsWith('0{')) {
    const c = link.closeInfo();
    return {
      ok: false,
      refusal: hello
        ? `no Engine.IO open packet: ${shortText(hello.text)}`
        : c
          ? `closed ${c.code} before the Engine.IO open packet`
          : 'no Engine.IO open packet',
      received,
    };
  }
  received.push(shortText(hello.text));
  link.sendRaw(token === undefined ? '40' : `40${JSON.stringify({ token })}`);
  const reply = await link.next(timeoutMs);
  if (reply?.text.startsWith('40')) return { ok: true, received: [...received, shortText(reply.text)] };
  const c = link.closeInfo();
  const refusal = reply ? shortText(reply.text) : c ? `closed ${c.code}` : `no answer within ${timeoutMs} ms`;
  return { ok: false, refusal, received: [...received, refusal] };
}

export const socketIoProtocol: Protocol = {
  name: 'socket.io',
  wsguard: false,
  subprotocols: [],
  // `connectTimeout` (45 s by default) ends an Engine.IO connection that never connected a namespace.
  openingTimeoutCode: undefined,
  endpoint(url) {
    const u = new URL(url.href);
    if (!u.pathname.includes('/socket.io')) u.pathname = '/socket.io/';
    u.search = '?EIO=4&transport=websocket';
    return u;
  },
  open,
  background(frame: Frame, link: Link) {
    // Engine.IO's heartbeat: a server ping unanswered closes the socket within pingTimeout.
    if (frame.text === '2') {
      link.sendRaw('3');
      return true;
    }
    return frame.text === '3' || frame.text === '6';
  },
  isRefusal(frame) {
    const t = frame.text;
    // connect_error, a server disconnect, an Engine.IO close; or an ack carrying `{error}`.
    if (t.startsWith('44') || t.startsWith('41') || t === '1') return true;
    const arg = ackArgument(t);
    return arg !== null && typeof arg === 'object' && 'error' in arg;
  },
  message: (app: AppProbe, payload) =>
    event(app.type, JSON.stringify(app.payload === undefined ? payload : app.payload)),
  withPayload: (app, payloadJson) => event(app.type, payloadJson),
  sized(app, bytes) {
    const p = app.payload === undefined ? '' : app.payload;
    const id = nextAck();
    return padTo(bytes, (pad) => `42${id}${JSON.stringify([app.type, padPayload(p, pad)])}`);
  },
  unknownType: () => event('auditUnknownType', '1'),
  truncated: (app) => `42${nextAck()}[${JSON.stringify(app.type)},`,
  provocations: (app) => [
    `42[${JSON.stringify(app.type)},`,
    '42[]',
    '42[123]',
    '42null',
    `42${nextAck()}[${JSON.stringify(app.type)},{"toString":"x","valueOf":1}]`,
    '4',
  ],
};
