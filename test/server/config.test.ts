import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { DEFAULTS, resolveConfig } from '../../src/server/config.js';
import { type ConfigErrorCode, ConfigErrorCodes, WsgConfigError } from '../../src/server/errors.js';
import { setupWebSockets, type WsGuardOptions } from '../../src/server/index.js';
import { createGuard } from '../../src/server/server.js';
import { repoRoot } from '../helpers/project.js';
import { TEST_SECRET } from '../helpers/server.js';

const auth = { jwt: { secret: TEST_SECRET } };
const base = { auth, logger: false as const };
const chat = { chat: z.object({ text: z.string() }) };

/** Each mistake, the options that make it, and the code it must be refused with. */
const MISTAKES: [string, Record<string, unknown>, ConfigErrorCode][] = [
  ['a relative path', { path: 'ws' }, 'WSG_CONFIG_INVALID_PATH'],
  ['a relative http.healthPath', { http: { healthPath: 'healthz' } }, 'WSG_CONFIG_INVALID_PATH'],
  ['a relative http.metricsPath', { http: { metricsPath: 'metrics' } }, 'WSG_CONFIG_INVALID_PATH'],
  ['a negative authTimeoutMs', { authTimeoutMs: -1 }, 'WSG_CONFIG_INVALID_NUMBER'],
  ['a zero handlerTimeoutMs', { handlerTimeoutMs: 0 }, 'WSG_CONFIG_INVALID_NUMBER'],
  ['a maxPayload under 128', { maxPayload: 10 }, 'WSG_CONFIG_INVALID_NUMBER'],
  ['a zero maxDepth', { maxDepth: 0 }, 'WSG_CONFIG_INVALID_NUMBER'],
  ['a fractional maxKeys', { maxKeys: 1.5 }, 'WSG_CONFIG_INVALID_NUMBER'],
  ['a negative dedupeWindow', { dedupeWindow: -1 }, 'WSG_CONFIG_INVALID_NUMBER'],
  ['a zero dedupeTtlMs', { dedupeTtlMs: 0 }, 'WSG_CONFIG_INVALID_NUMBER'],
  ['a NaN heartbeatMs', { heartbeatMs: Number.NaN }, 'WSG_CONFIG_INVALID_NUMBER'],
  ['csrf as a string', { csrf: 'yes' }, 'WSG_CONFIG_INVALID_TYPE'],
  ['perMessageDeflate as a number', { perMessageDeflate: 1 }, 'WSG_CONFIG_INVALID_TYPE'],
  ['allowQueryToken as a string', { allowQueryToken: 'true' }, 'WSG_CONFIG_INVALID_TYPE'],
  ['requireOrigin as a string', { requireOrigin: 'no' }, 'WSG_CONFIG_INVALID_TYPE'],
  ['requireTls as a number', { requireTls: 0 }, 'WSG_CONFIG_INVALID_TYPE'],
  ['csrfExempt as a string', { csrfExempt: 'chat' }, 'WSG_CONFIG_INVALID_TYPE'],
  ['allowedOrigins as a string', { allowedOrigins: 'https://a.example' }, 'WSG_CONFIG_INVALID_TYPE'],
  ['trustProxy with a number', { trustProxy: [1] }, 'WSG_CONFIG_INVALID_TYPE'],
  ['now as a number', { now: 5 }, 'WSG_CONFIG_INVALID_TYPE'],
  ['onEvent as a string', { onEvent: 'log' }, 'WSG_CONFIG_INVALID_TYPE'],
  ['a handler that is not a function', { messages: chat, handlers: { chat: 1 } }, 'WSG_CONFIG_INVALID_TYPE'],
  ['messages as a list', { messages: [] }, 'WSG_CONFIG_INVALID_TYPE'],
  ['an empty http.metricsToken', { http: { metricsToken: '' } }, 'WSG_CONFIG_INVALID_TYPE'],
  ['http.mount as a string', { http: { mount: 'yes' } }, 'WSG_CONFIG_INVALID_TYPE'],
  ['a reserved type name', { messages: { ack: z.unknown() } }, 'WSG_CONFIG_INVALID_MESSAGE_TYPE'],
  ['an invalid type name', { messages: { 'bad name': z.unknown() } }, 'WSG_CONFIG_INVALID_MESSAGE_TYPE'],
  ['a reserved binaryType', { binaryType: 'auth' }, 'WSG_CONFIG_INVALID_MESSAGE_TYPE'],
  ['a handler without a schema', { handlers: { chat: () => 1 } }, 'WSG_CONFIG_HANDLER_WITHOUT_SCHEMA'],
  ['a zero session.maxAgeMs', { session: { maxAgeMs: 0 } }, 'WSG_CONFIG_INVALID_SESSION'],
  [
    'an infinite session.idleTimeoutMs',
    { session: { idleTimeoutMs: Infinity } },
    'WSG_CONFIG_INVALID_SESSION',
  ],
  ['a negative session.refreshWindowMs', { session: { refreshWindowMs: -1 } }, 'WSG_CONFIG_INVALID_SESSION'],
  ['a zero session.checkIntervalMs', { session: { checkIntervalMs: 0 } }, 'WSG_CONFIG_INVALID_SESSION'],
  [
    'session.rotateCsrfOnRefresh as a string',
    { session: { rotateCsrfOnRefresh: 'y' } },
    'WSG_CONFIG_INVALID_SESSION',
  ],
  [
    'a zero backpressure.maxBufferedBytes',
    { backpressure: { maxBufferedBytes: 0 } },
    'WSG_CONFIG_INVALID_BACKPRESSURE',
  ],
  ['a negative backpressure.graceMs', { backpressure: { graceMs: -1 } }, 'WSG_CONFIG_INVALID_BACKPRESSURE'],
  [
    'hardLimitBytes under maxBufferedBytes',
    { backpressure: { maxBufferedBytes: 1000, hardLimitBytes: 999 } },
    'WSG_CONFIG_INVALID_BACKPRESSURE',
  ],
  ['limits as a number', { limits: 5 }, 'WSG_CONFIG_INVALID_LIMIT'],
  ['a zero limits.concurrentPerIp', { limits: { concurrentPerIp: 0 } }, 'WSG_CONFIG_INVALID_LIMIT'],
  [
    'a fractional limits.concurrentPerUser',
    { limits: { concurrentPerUser: 1.5 } },
    'WSG_CONFIG_INVALID_LIMIT',
  ],
  [
    'a zero connectionsPerIp.max',
    { limits: { connectionsPerIp: { max: 0, windowMs: 1000 } } },
    'WSG_CONFIG_INVALID_LIMIT',
  ],
  [
    'a missing connectionsPerIp.windowMs',
    { limits: { connectionsPerIp: { max: 5 } } },
    'WSG_CONFIG_INVALID_LIMIT',
  ],
  [
    'a negative authFailures.blockMs',
    { limits: { authFailures: { max: 10, windowMs: 1000, blockMs: -1 } } },
    'WSG_CONFIG_INVALID_LIMIT',
  ],
  [
    'a zero authFailures.max',
    { limits: { authFailures: { max: 0, windowMs: 1000, blockMs: 1 } } },
    'WSG_CONFIG_INVALID_LIMIT',
  ],
  ['a zero messages rate', { limits: { messages: { rate: 0, burst: 10 } } }, 'WSG_CONFIG_INVALID_LIMIT'],
  ['a bytes burst under 1', { limits: { bytes: { rate: 10, burst: 0.5 } } }, 'WSG_CONFIG_INVALID_LIMIT'],
  ['an infinite user rate', { limits: { user: { rate: Infinity, burst: 10 } } }, 'WSG_CONFIG_INVALID_LIMIT'],
  [
    'a type limit with burst 0',
    { limits: { types: { chat: { rate: 1, burst: 0 } } } },
    'WSG_CONFIG_INVALID_LIMIT',
  ],
  [
    'a type limit with a negative cost',
    { limits: { types: { chat: { rate: 1, burst: 5, cost: -1 } } } },
    'WSG_CONFIG_INVALID_LIMIT',
  ],
  ['penalties as a number', { limits: { penalties: 3 } }, 'WSG_CONFIG_INVALID_PENALTY'],
  ['zero strikes', { limits: { penalties: { strikes: 0 } } }, 'WSG_CONFIG_INVALID_PENALTY'],
  ['a zero strikeWindowMs', { limits: { penalties: { strikeWindowMs: 0 } } }, 'WSG_CONFIG_INVALID_PENALTY'],
  ['a NaN blockMs', { limits: { penalties: { blockMs: Number.NaN } } }, 'WSG_CONFIG_INVALID_PENALTY'],
  ['a factor under 1', { limits: { penalties: { factor: 0.5 } } }, 'WSG_CONFIG_INVALID_PENALTY'],
  ['a negative maxBlockMs', { limits: { penalties: { maxBlockMs: -5 } } }, 'WSG_CONFIG_INVALID_PENALTY'],
  ['a zero banAfter', { limits: { penalties: { banAfter: 0 } } }, 'WSG_CONFIG_INVALID_PENALTY'],
  ['a zero offenceWindowMs', { limits: { penalties: { offenceWindowMs: 0 } } }, 'WSG_CONFIG_INVALID_PENALTY'],
  ['a zero banMs', { limits: { penalties: { banMs: 0 } } }, 'WSG_CONFIG_INVALID_PENALTY'],
  ['blockIp as a string', { limits: { penalties: { blockIp: 'yes' } } }, 'WSG_CONFIG_INVALID_PENALTY'],
  ['thresholds that do not rise', { anomaly: { thresholds: { warn: 30 } } }, 'WSG_CONFIG_INVALID_ANOMALY'],
  ['a zero halfLifeMs', { anomaly: { halfLifeMs: 0 } }, 'WSG_CONFIG_INVALID_ANOMALY'],
  ['a weight for no signal', { anomaly: { weights: { nope: 1 } } }, 'WSG_CONFIG_INVALID_ANOMALY'],
  ['a negative weight', { anomaly: { weights: { csrf: -1 } } }, 'WSG_CONFIG_INVALID_ANOMALY'],
  ['a zero burst factor', { anomaly: { burst: { factor: 0, min: 30 } } }, 'WSG_CONFIG_INVALID_ANOMALY'],
  ['a zero user scope factor', { anomaly: { scopeFactors: { user: 0 } } }, 'WSG_CONFIG_INVALID_ANOMALY'],
  ['anomaly as a string', { anomaly: 'on' }, 'WSG_CONFIG_INVALID_ANOMALY'],
];

/** Mistakes found where the option is compiled (auth, proxies, schemas), at setup too. */
const SETUP_MISTAKES: [string, Record<string, unknown>, ConfigErrorCode][] = [
  [
    'authorize for a type without a schema',
    { authorize: { nope: () => true } },
    'WSG_CONFIG_INVALID_AUTHORIZE',
  ],
  [
    'an authorize rule that is not a function',
    { messages: { a: z.unknown() }, authorize: { a: true } },
    'WSG_CONFIG_INVALID_AUTHORIZE',
  ],
  [
    'a channel pattern with a slash',
    { channels: { 'room:a/{x}': { authorize: () => true } } },
    'WSG_CONFIG_INVALID_CHANNEL',
  ],
  ['a channel without authorize', { channels: { 'room:{x}': {} } }, 'WSG_CONFIG_INVALID_CHANNEL'],
  [
    'two channel patterns for the same names',
    { channels: { 'a:{x}': { authorize: () => true }, 'a:{y}': { authorize: () => true } } },
    'WSG_CONFIG_INVALID_CHANNEL',
  ],
  ['no auth', { auth: undefined }, 'WSG_CONFIG_NO_AUTH'],
  ['empty auth', { auth: {} }, 'WSG_CONFIG_NO_AUTH'],
  ['a short JWT secret', { auth: { jwt: { secret: 'short' } } }, 'WSG_CONFIG_INVALID_JWT'],
  [
    'two JWT keys',
    { auth: { jwt: { secret: TEST_SECRET, jwksUrl: 'https://a.example/jwks' } } },
    'WSG_CONFIG_INVALID_JWT',
  ],
  ['a bad trustProxy entry', { trustProxy: ['not-an-ip'] }, 'WSG_CONFIG_INVALID_PROXY'],
  ['a schema that is not Zod 4', { messages: { chat: { parse: () => 1 } } }, 'WSG_CONFIG_INVALID_SCHEMA'],
];

/** A layer that is on (the test set it). */
function on<T>(layer: T | false): T {
  if (layer === false) throw new Error('layer is off');
  return layer;
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(WsgConfigError);
    expect((err as Error).message).toMatch(/^wsguard: /);
    return (err as WsgConfigError).code;
  }
  return undefined;
}

describe('resolveConfig: each mistake has its code', () => {
  it.each(MISTAKES)('%s', (_name, bad, code) => {
    expect(codeOf(() => resolveConfig({ ...base, ...bad } as WsGuardOptions))).toBe(code);
  });

  it.each(SETUP_MISTAKES)('%s (at setup)', (_name, bad, code) => {
    expect(codeOf(() => createGuard({ ...base, ...bad } as WsGuardOptions))).toBe(code);
  });

  it('wss.ban() with a duration that is not positive: WSG_CONFIG_INVALID_BAN', async () => {
    const guard = createGuard(base);
    await expect(guard.ban('203.0.113.9', { durationMs: 0 })).rejects.toMatchObject({
      code: 'WSG_CONFIG_INVALID_BAN',
    });
    await guard.close({ timeoutMs: 0 });
  });

  it('a dashboard token under 32 bytes (at setupWebSockets): WSG_CONFIG_INVALID_DASHBOARD', () => {
    const server = createServer();
    expect(codeOf(() => setupWebSockets(server, { ...base, dashboard: { token: 'short' } }))).toBe(
      'WSG_CONFIG_INVALID_DASHBOARD',
    );
    // Refused before anything was attached.
    expect(server.listenerCount('upgrade')).toBe(0);
  });

  it('production with neither allowedHosts nor allowedOrigins: WSG_CONFIG_NO_ALLOWED_HOSTS', () => {
    const env = process.env.NODE_ENV;
    process.env.NODE_ENV = 'production';
    try {
      expect(codeOf(() => resolveConfig(base))).toBe('WSG_CONFIG_NO_ALLOWED_HOSTS');
      expect(resolveConfig({ ...base, allowedOrigins: ['https://app.example'] }).requireTls).toBe(true);
    } finally {
      process.env.NODE_ENV = env;
    }
  });

  it('every code is produced by some mistake above, and documented in docs/ARCHITECTURE.md', () => {
    const tested = new Set([...MISTAKES, ...SETUP_MISTAKES].map(([, , code]) => code));
    tested.add('WSG_CONFIG_INVALID_BAN');
    tested.add('WSG_CONFIG_NO_ALLOWED_HOSTS');
    tested.add('WSG_CONFIG_INVALID_DASHBOARD');
    // Thrown by calls, not by options: appError() and wss.sendToUser() (test/server/authorization.test.ts,
    // test/server/channels/channels.test.ts).
    tested.add('WSG_CONFIG_INVALID_APP_ERROR');
    tested.add('WSG_CONFIG_INVALID_ARGUMENT');
    // Tested where they are thrown: test/server/http/check-server.test.ts, test/server/optional.test.ts.
    tested.add('WSG_CONFIG_INVALID_SERVER');
    tested.add('WSG_CONFIG_MISSING_PACKAGE');
    expect([...tested].sort()).toEqual(Object.keys(ConfigErrorCodes).sort());
    const doc = readFileSync(join(repoRoot, 'docs/ARCHITECTURE.md'), 'utf8');
    for (const code of Object.keys(ConfigErrorCodes)) expect(doc, code).toContain(`\`${code}\``);
  });
});

describe('resolveConfig: the result', () => {
  it('fills every default from DEFAULTS', () => {
    const c = resolveConfig(base);
    expect(c.path).toBe(DEFAULTS.path);
    expect(c.maxPayload).toBe(DEFAULTS.maxPayload);
    expect(c.session).toEqual(DEFAULTS.session);
    expect(c.backpressure).toEqual({
      maxBufferedBytes: DEFAULTS.backpressure.maxBufferedBytes,
      graceMs: DEFAULTS.backpressure.graceMs,
      hardLimitBytes: DEFAULTS.backpressure.maxBufferedBytes * DEFAULTS.backpressure.hardLimitFactor,
    });
    const { typeCost: _cost, ...limits } = DEFAULTS.limits;
    expect(c.limits).toEqual(limits);
    expect(c.anomaly).toEqual(DEFAULTS.anomaly);
    expect(c.http).toEqual(DEFAULTS.http);
    expect(c.csrfExempt).toEqual([]);
    expect(c.requireOrigin).toBe(false);
  });

  it('is frozen all the way down, and does not freeze the caller’s objects', () => {
    const messages = { ...chat };
    const exempt = ['chat'];
    const c = resolveConfig({ ...base, messages, csrfExempt: exempt, binaryType: 'upload' });
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(on(c.limits).penalties)).toBe(true);
    expect(Object.isFrozen(c.csrfExempt)).toBe(true);
    expect(c.csrfExempt).toEqual(['chat', 'upload']);
    expect(Object.isFrozen(messages)).toBe(false);
    expect(Object.isFrozen(exempt)).toBe(false);
    expect(Object.isFrozen(messages.chat)).toBe(false);
  });

  it('keeps what is switched off off, and merges partial groups over the defaults', () => {
    const c = resolveConfig({
      ...base,
      limits: { penalties: { strikes: 3 }, concurrentPerIp: false, types: { chat: { rate: 1, burst: 2 } } },
      anomaly: false,
      allowedOrigins: ['https://a.example'],
    });
    expect(c.anomaly).toBe(false);
    expect(on(c.limits).concurrentPerIp).toBe(false);
    expect(on(c.limits).penalties).toEqual({ ...DEFAULTS.limits.penalties, strikes: 3 });
    expect(on(c.limits).types.chat).toEqual({ rate: 1, burst: 2, cost: DEFAULTS.limits.typeCost });
    expect(c.requireOrigin).toBe(true);
    expect(resolveConfig({ ...base, limits: false }).limits).toBe(false);
  });
});
