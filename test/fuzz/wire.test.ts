import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { isErrorCode, parseCloseReason } from '../../src/protocol/index.js';
import { closePayload, encodeFrame, Op, rawUpgraded } from '../helpers/raw-socket.js';
import { expectStillServing } from '../helpers/served.js';
import { signToken, startServer, type TestServer } from '../helpers/server.js';

// Random frame sequences against a live server over TCP: legal and illegal opcodes, RSV bits,
// masking, fragmentation, control payloads, close codes, UTF-8 or not. Each sequence ends with a
// valid close, so every run ends deterministically: the server closes with a protocol code, a
// registered WSG_ code, or answers the close; it never crashes and always frees the socket.

let srv: TestServer;
let token: string;
beforeAll(async () => {
  srv = await startServer({ limits: false, anomaly: false, messages: { echo: z.unknown() } });
  token = await signToken('wire-fuzzer');
});
afterAll(() => srv.close());

const frameSpec = fc.record({
  opcode: fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(Op.text, Op.binary, Op.cont, Op.ping, Op.pong) },
    fc.integer({ min: 0, max: 15 }),
  ),
  fin: fc.oneof({ weight: 4, arbitrary: fc.constant(true) }, fc.constant(false)),
  rsv: fc.oneof({ weight: 8, arbitrary: fc.constant(0) }, fc.integer({ min: 1, max: 7 })),
  mask: fc.oneof({ weight: 15, arbitrary: fc.constant(true) }, fc.constant(false)),
  payload: fc.oneof(
    fc.string({ unit: 'binary', maxLength: 60 }).map((s) => Buffer.from(s)),
    fc.uint8Array({ maxLength: 140 }).map((b) => Buffer.from(b)),
    fc.constantFrom('{"type":"ping","ts":1}', '{"type":"echo","payload":1}', '{').map((s) => Buffer.from(s)),
    fc.integer({ min: 0, max: 65_535 }).map((code) => closePayload(code)),
  ),
});

// FUZZ_WIRE_RUNS=20000 [FUZZ_WIRE_SEED=n] npx vitest run test/fuzz/wire.test.ts for a long run.
const RUNS = Number(process.env.FUZZ_WIRE_RUNS ?? 600);

/**
 * Protocol codes ws closes with for a bad frame; the answer to a client close echoes its code
 * (any valid one: 1000, 1001, 3000-4999 ...) or is empty (1005) for an empty close.
 */
const TRANSPORT_CODES = new Set([1000, 1002, 1005, 1007, 1008, 1009]);
const echoable = (code: number) =>
  (code >= 1000 && code <= 1014 && ![1004, 1005, 1006].includes(code)) || (code >= 3000 && code <= 4999);

describe('wire fuzz (live server)', () => {
  it(
    'random frame sequences: a defined close, defined error frames, the socket freed, the server serving',
    async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(frameSpec, { minLength: 1, maxLength: 8 }), async (specs) => {
          const raw = await rawUpgraded(srv.port, token);
          const frames = specs.map((s) => encodeFrame(s));
          frames.push(encodeFrame({ opcode: Op.close, payload: closePayload(1000) }));
          await raw.write(Buffer.concat(frames)).catch(() => {});
          let close: { code: number | undefined; reason: string } | undefined;
          while (!close) {
            const f = await raw.nextFrame();
            if (f.opcode === Op.close) {
              close = {
                code: f.payload.length >= 2 ? f.payload.readUInt16BE(0) : undefined,
                reason: f.payload.subarray(2).toString(),
              };
            } else if (f.opcode === Op.text) {
              const msg = JSON.parse(f.payload.toString()) as { type: string; code?: string };
              if (msg.type === 'error') expect(isErrorCode(msg.code), f.payload.toString()).toBe(true);
            }
          }
          const code = close.code ?? 1005;
          const wsg = parseCloseReason(close.reason).code;
          const sentClose = specs
            .find((sp) => sp.opcode === Op.close && sp.payload.length >= 2)
            ?.payload.readUInt16BE(0);
          const ok = TRANSPORT_CODES.has(code) || wsg !== undefined || (code === sentClose && echoable(code));
          expect(ok, `close ${code} ${close.reason}`).toBe(true);
          raw.destroy();
          await raw.ended;
        }),
        { numRuns: RUNS, seed: Number(process.env.FUZZ_WIRE_SEED ?? 424_242) },
      );
      await expect.poll(() => srv.wss.clients).toBe(0);
      await expectStillServing(srv.url, { echo: false });
    },
    Math.max(20_000, RUNS * 10),
  );
});
