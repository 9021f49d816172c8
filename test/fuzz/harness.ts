import fc from 'fast-check';
import { z } from 'zod';
import { ErrorCodes, isErrorCode, parseCloseReason } from '../../src/protocol/index.js';
import type { Connection } from '../../src/server/connection.js';
import type { HandlerContext } from '../../src/server/options.js';
import { createGuard, type Guard } from '../../src/server/server.js';
import { type MemorySocket, memorySocket, memoryUpgradeRequest } from '../helpers/memory-socket.js';

/**
 * The server pipeline in-process, for property tests: a real guard (every stage, real
 * handlers) fed through memory sockets, and a classifier that says what became of each input.
 */

/** The token the fuzz verifier accepts. */
export const GOOD_TOKEN = 'fuzz-good-token';
/** Replaced by the connection's CSRF token when an input is fed. */
export const CSRF = '__CSRF__';

/** One fuzz input: a frame's content as the transport would deliver it. */
export interface FuzzInput {
  data: string;
  /** Deliver as a binary frame. */
  binary: boolean;
  /**
   * How `data` reaches the guard: as a string, as a UTF-8 Buffer (how ws hands over text frames),
   * or as a latin1 Buffer (raw bytes, not necessarily UTF-8).
   */
  as: 'string' | 'utf8' | 'bytes';
}

/** What became of one input: a handled message, a reply, or a defined refusal. */
export type Outcome =
  | { kind: 'handled'; replies: string[] }
  | { kind: 'reply'; type: string }
  | { kind: 'error'; code: string }
  | { kind: 'closed'; code: string; closeCode: number };

/**
 * The classic prototype-pollution sink: an app's naive deep merge of a payload. It is safe only
 * because the parse stage refuses `__proto__` and `constructor.prototype` before any handler.
 */
function naiveMerge(target: Record<string, unknown>, source: unknown): Record<string, unknown> {
  if (typeof source !== 'object' || source === null) return target;
  for (const key in source) {
    const v = (source as Record<string, unknown>)[key];
    if (typeof v === 'object' && v !== null) {
      if (typeof target[key] !== 'object' || target[key] === null) target[key] = {};
      naiveMerge(target[key] as Record<string, unknown>, v);
    } else target[key] = v;
  }
  return target;
}

export interface FuzzTarget {
  readonly guard: Guard;
  /** Handler runs so far. */
  readonly handled: number;
  /** Feeds one input to an authenticated socket (a new one when the last was closed). */
  authed(input: FuzzInput): Promise<Outcome>;
  /** Feeds one input as the first message of a new, unauthenticated socket. */
  preAuth(input: FuzzInput): Promise<Outcome>;
  close(): Promise<void>;
}

const PROTO_KEYS = Object.getOwnPropertyNames(Object.prototype).sort().join(',');

/** Throws if anything was added to or changed on Object.prototype (or Array.prototype). */
export function assertPrototypesClean(): void {
  if (Object.getOwnPropertyNames(Object.prototype).sort().join(',') !== PROTO_KEYS) {
    throw new Error('Object.prototype was polluted');
  }
  for (const k in {}) throw new Error(`Object.prototype gained enumerable key ${k}`);
  for (const k in []) throw new Error(`Array.prototype gained enumerable key ${k}`);
}

/**
 * `limits: true` keeps rate limits and anomaly scoring on: refusals then include rate limits,
 * blocks and bans, and a banned fuzzer gets a fresh guard (and store) to go on with.
 */
export function createFuzzTarget(options: { limits?: boolean } = {}): FuzzTarget {
  let handled = 0;
  const count = <T>(v: T) => {
    handled++;
    return v;
  };
  const build = (): Guard =>
    createGuard({
      auth: { verify: (token) => (token === GOOD_TOKEN ? { id: 'fuzzer' } : null) },
      logger: false,
      ...(options.limits ? {} : { limits: false as const, anomaly: false as const }),
      messages: {
        echo: z.unknown(),
        note: z.object({ text: z.string().max(100), tags: z.array(z.string()).max(10).optional() }),
        merge: z.unknown(),
        later: z.unknown(),
        fails: z.unknown(),
      },
      handlers: {
        echo: (_c: HandlerContext, p: unknown) => count(p),
        note: (_c: HandlerContext, p: { text: string }) => count({ length: p.text.length }),
        merge: (_c: HandlerContext, p: unknown) => count(naiveMerge({}, p)),
        later: async (_c: HandlerContext, p: unknown) => {
          await null;
          return count(p);
        },
        fails: (_c: HandlerContext, p: unknown) => {
          count(p);
          throw new Error('handler failure with /secret/path.ts:1 detail');
        },
      },
    });
  let guard = build();

  let current: { conn: Connection; socket: MemorySocket } | undefined;

  const openConn = async (authenticated: boolean) => {
    const socket = memorySocket();
    const req = memoryUpgradeRequest();
    const conn = guard.open(
      socket,
      authenticated
        ? { ok: true, ip: '127.0.0.1', principal: { id: 'fuzzer' } }
        : { ok: true, ip: '127.0.0.1' },
      req,
    );
    if (authenticated) await settle(conn, socket, 0, 0);
    return { conn, socket };
  };

  /** Waits until the socket is quiet: no handler in flight and nothing new for two turns. */
  const settle = async (conn: Connection, socket: MemorySocket, sent: number, calls: number) => {
    let quiet = 0;
    let last = `${sent}:${calls}:${socket.closed !== undefined}`;
    for (let turns = 0; turns < 500; turns++) {
      await new Promise<void>((r) => setImmediate(r));
      const now = `${socket.sent.length}:${handled}:${socket.closed !== undefined}`;
      if (now === last && conn.inflight === 0) {
        if (++quiet >= 2) return;
      } else quiet = 0;
      last = now;
    }
    throw new Error('the pipeline never settled');
  };

  const feed = async (conn: Connection, socket: MemorySocket, input: FuzzInput): Promise<Outcome> => {
    const text = input.data.replaceAll(CSRF, conn.csrfToken ?? 'none');
    const data =
      input.as === 'string' && !input.binary
        ? text
        : Buffer.from(text, input.as === 'bytes' ? 'latin1' : 'utf8');
    const sent = socket.sent.length;
    const calls = handled;
    const refusedBefore = guard.stats().rejections;
    // The property's core: whatever the input, handleMessage returns normally.
    conn.handleMessage(data, input.binary);
    await settle(conn, socket, sent, calls);
    const replies = socket.sent.slice(sent);
    if (socket.closed) {
      // The transport reports the close back, as ws does.
      conn.handleClose(socket.closed.code);
    }
    const refusedAfter = guard.stats().rejections;
    const refused = (Object.keys(refusedAfter) as (keyof typeof refusedAfter)[]).find(
      (code) => (refusedAfter[code] ?? 0) > (refusedBefore[code] ?? 0),
    );
    // A refusal naming no message goes unanswered only once the socket's budget for those is spent.
    const unanswered = refused && conn.bareErrors?.left === 0 ? refused : undefined;
    return classify(replies, socket.closed, handled > calls, unanswered);
  };

  return {
    get handled() {
      return handled;
    },
    get guard() {
      return guard;
    },
    async authed(input) {
      if (current?.conn.state !== 'open') {
        current = await openConn(true);
        if (current.conn.state !== 'open') {
          // Only the penalty ladder refuses a fresh session here; anything else is a finding.
          const refusal = classify(current.socket.sent, current.socket.closed, false);
          if (!options.limits) throw new Error(`session did not open: ${JSON.stringify(refusal)}`);
          current.conn.handleClose(current.socket.closed?.code ?? 1006);
          await guard.close({ timeoutMs: 100 });
          guard = build();
          current = await openConn(true);
        }
      }
      return feed(current.conn, current.socket, input);
    },
    async preAuth(input) {
      const { conn, socket } = await openConn(false);
      const outcome = await feed(conn, socket, input);
      if (!socket.closed) {
        socket.close(1000, '');
        conn.handleClose(1000);
      }
      return outcome;
    },
    async close() {
      await guard.close({ timeoutMs: 100 });
    },
  };
}

const REPLY_TYPES = new Set(['pong', 'auth_ok', 'refresh_ok']);

/**
 * Says what the frames and close after one input mean, or throws when they mean nothing
 * defined: a frame that is not JSON, an unknown type or code, a close whose code and reason
 * disagree with the registry, or no reaction at all (a refusal the server counted but did not
 * answer is one only while the socket's budget of id-less `error` replies is spent).
 */
export function classify(
  replies: string[],
  closed: { code: number; reason: string } | undefined,
  ranHandler: boolean,
  /** The code of a refusal counted without a frame, the socket's id-less error budget being spent. */
  unanswered?: string,
): Outcome {
  let outcome: Outcome | undefined;
  const acks: string[] = [];
  for (const frame of replies) {
    const msg = JSON.parse(frame) as { type?: unknown; code?: unknown };
    if (msg.type === 'ack') acks.push(frame);
    else if (msg.type === 'error') {
      if (!isErrorCode(msg.code)) throw new Error(`error frame with an undefined code: ${frame}`);
      if (/\/secret|\.ts:\d|at \S+ \(/.test(frame)) throw new Error(`error frame leaks: ${frame}`);
      outcome ??= { kind: 'error', code: msg.code };
    } else if (typeof msg.type === 'string' && REPLY_TYPES.has(msg.type))
      outcome ??= { kind: 'reply', type: msg.type };
    else throw new Error(`unexpected frame: ${frame}`);
  }
  if (closed) {
    const { code } = parseCloseReason(closed.reason);
    if (!code) throw new Error(`close without a WSG_ code: ${closed.code} ${closed.reason}`);
    if (ErrorCodes[code].closeCode !== closed.code) {
      throw new Error(`close code ${closed.code} does not match ${code}`);
    }
    return { kind: 'closed', code, closeCode: closed.code };
  }
  if (acks.length > 0 || ranHandler) return { kind: 'handled', replies: acks };
  if (outcome) return outcome;
  if (unanswered !== undefined) {
    if (!isErrorCode(unanswered)) throw new Error(`refusal with an undefined code: ${unanswered}`);
    return { kind: 'error', code: unanswered };
  }
  throw new Error('input neither handled nor refused: no frame, no close');
}

// ---- arbitraries --------------------------------------------------------------------------

const hostileKey = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      '__proto__',
      'constructor',
      'prototype',
      'toString',
      'valueOf',
      'hasOwnProperty',
    ),
  },
  { weight: 2, arbitrary: fc.constantFrom('type', 'id', 'payload', 'csrf', 'token', 'ts', 'text', 'tags') },
  { weight: 3, arbitrary: fc.string({ unit: 'binary', maxLength: 12 }) },
);

/** Numbers JSON.stringify cannot write: spelled as JSON text. */
export const hugeNumberText = fc.oneof(
  fc.constantFrom(
    '1e400',
    '-1e400',
    '1e-400',
    '-0',
    '123456789012345678901234567890123456789',
    '9007199254740993',
    '0.30000000000000004',
    '1E+308',
    '4.9e-324',
  ),
  fc.double().map(String),
  fc.bigInt({ min: -(2n ** 200n), max: 2n ** 200n }).map(String),
);

/** JSON values with hostile keys (own `__proto__` properties too), unicode and odd numbers. */
export const hostileJson: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.integer(),
    fc.string({ unit: 'binary', maxLength: 20 }),
    fc.string({ unit: 'grapheme', maxLength: 20 }),
    fc.array(tie('value'), { maxLength: 6 }),
    // fromEntries defines each key as an own property, `__proto__` included, as JSON.parse does.
    fc
      .array(fc.tuple(hostileKey, tie('value')), { maxLength: 6 })
      .map((entries) => Object.fromEntries(entries)),
  ),
})).value;

const typeName = fc.oneof(
  fc.constantFrom('echo', 'note', 'merge', 'later', 'fails', 'auth', 'ping', 'refresh'),
  fc.constantFrom('ack', 'error', 'pong', 'auth_ok', '__proto__', 'constructor', 'wsg.x', 'ECHO', ''),
  fc.string({ maxLength: 12 }),
);

const messageId = fc.oneof(
  { weight: 4, arbitrary: fc.stringMatching(/^[A-Za-z0-9_-]{1,16}$/) },
  fc.constantFrom('x'.repeat(64), 'x'.repeat(65), 'a b', '', '"quoted"'),
  fc.string({ maxLength: 10 }),
  fc.integer(),
);
const payload = fc.oneof(hostileJson, fc.record({ text: fc.string({ maxLength: 120 }) }));
const csrf = fc.oneof(
  { weight: 6, arbitrary: fc.constant(CSRF) },
  fc.constantFrom('wrong', ''),
  fc.integer(),
);

/** Objects shaped like envelopes, so inputs get past the first checks and reach the handlers. */
export const envelopeJson = fc
  .oneof(
    // Application messages, mostly well-formed: they reach schemas, CSRF, dedupe and handlers.
    {
      weight: 5,
      arbitrary: fc.record(
        {
          id: messageId,
          type: fc.oneof(
            { weight: 5, arbitrary: fc.constantFrom('echo', 'note', 'merge', 'later', 'fails') },
            typeName,
          ),
          payload,
          csrf,
        },
        { requiredKeys: ['type'] },
      ),
    },
    // Control messages, right and wrong.
    fc.record(
      {
        type: fc.constantFrom('auth', 'refresh'),
        token: fc.oneof(fc.constant(GOOD_TOKEN), fc.string({ maxLength: 20 }), fc.integer()),
      },
      { requiredKeys: ['type'] },
    ),
    fc.record(
      { type: fc.constant('ping'), ts: fc.oneof(fc.integer(), fc.double(), fc.string()) },
      { requiredKeys: ['type'] },
    ),
    // Anything in envelope clothing: extra keys, wrong types.
    fc.record(
      {
        type: typeName,
        id: messageId,
        payload,
        csrf,
        token: fc.string({ maxLength: 20 }),
        ts: fc.double(),
        extra: hostileJson,
      },
      { requiredKeys: [] },
    ),
  )
  .map((o) => JSON.stringify(o));

/** Envelopes with a number JSON cannot round-trip spliced in as payload or ts. */
export const hugeNumberEnvelope = fc
  .tuple(fc.constantFrom('echo', 'merge', 'later', 'ping'), hugeNumberText)
  .map(([type, n]) =>
    type === 'ping'
      ? `{"type":"ping","ts":${n}}`
      : `{"id":"n-1","type":"${type}","payload":{"n":${n},"a":[${n},${n}]},"csrf":"${CSRF}"}`,
  );

/** Deep nesting and wide arrays/objects around the limits (maxDepth 32, maxKeys 2000). */
export const deepOrWide = fc.oneof(
  fc
    .integer({ min: 1, max: 20_000 })
    .map((n) => `{"type":"echo","payload":${'['.repeat(n)}${']'.repeat(n)},"csrf":"${CSRF}"}`),
  fc
    .integer({ min: 1, max: 5_000 })
    .map((n) => `{"type":"merge","payload":${'{"a":'.repeat(n)}1${'}'.repeat(n)},"csrf":"${CSRF}"}`),
  fc
    .integer({ min: 25, max: 40 })
    .map((n) => `{"type":"echo","payload":${'['.repeat(n)}${']'.repeat(n)},"csrf":"${CSRF}"}`),
  fc
    .integer({ min: 0, max: 6_000 })
    .map((n) => JSON.stringify({ type: 'echo', payload: new Array(n).fill(0), csrf: CSRF })),
  fc.integer({ min: 1990, max: 2010 }).map((n) =>
    JSON.stringify({
      type: 'merge',
      payload: Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, i])),
      csrf: CSRF,
    }),
  ),
  // Pollution payloads at every depth the walk allows.
  fc
    .tuple(
      fc.integer({ min: 0, max: 40 }),
      fc.constantFrom('"__proto__":{"polluted":1}', '"constructor":{"prototype":{"polluted":1}}'),
    )
    .map(
      ([d, bad]) =>
        `{"type":"merge","payload":${'{"a":'.repeat(d)}{${bad}}${'}'.repeat(d)},"csrf":"${CSRF}"}`,
    ),
);

/** Every kind of input, each delivered as text string, text Buffer or binary frame. */
export const fuzzInput: fc.Arbitrary<FuzzInput> = fc.record({
  data: fc.oneof(
    { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }) },
    { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 100 }) },
    // Raw bytes: with `as: 'bytes'` they arrive exactly (invalid UTF-8 included).
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b).toString('latin1')) },
    { weight: 2, arbitrary: hostileJson.map((v) => JSON.stringify(v) ?? 'null') },
    { weight: 6, arbitrary: envelopeJson },
    { weight: 2, arbitrary: hugeNumberEnvelope },
    { weight: 1, arbitrary: deepOrWide },
  ),
  binary: fc.integer({ min: 0, max: 9 }).map((n) => n === 0),
  as: fc.constantFrom('string', 'utf8', 'bytes'),
});

/** Runs one input through the pipeline and checks the prototypes after it. */
export async function runInput(
  target: FuzzTarget,
  phase: 'authed' | 'preAuth',
  input: FuzzInput,
): Promise<Outcome> {
  const outcome = await target[phase](input);
  assertPrototypesClean();
  return outcome;
}

/** A label for an outcome, for the fuzz run's tally. */
export function outcomeLabel(o: Outcome): string {
  switch (o.kind) {
    case 'handled':
      return 'handled';
    case 'reply':
      return o.type;
    case 'error':
      return o.code;
    case 'closed':
      return `close ${o.closeCode} ${o.code}`;
  }
}
