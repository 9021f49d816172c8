import { describe, expect, it } from 'vitest';
import { createAdmission } from '../../src/server/admission.js';
import { createTokenVerifier } from '../../src/server/auth/verifier.js';
import { resolveConfig } from '../../src/server/config.js';
import { createEventBus } from '../../src/server/events.js';
import type { GateRejection } from '../../src/server/gate/index.js';
import { keys } from '../../src/server/limits/keys.js';
import type { VerifyToken } from '../../src/server/options.js';
import { createProtection } from '../../src/server/protection.js';
import { createSessionManager } from '../../src/server/session/sessions.js';
import { memoryStore } from '../../src/server/stores/memory/index.js';
import type { Store } from '../../src/server/stores/types.js';
import { memoryUpgradeRequest } from '../helpers/memory-socket.js';

/** The real gate over a memory store; tokens are `good:<user>`. */
function admission(
  o: { verify?: VerifyToken; store?: Store; closing?: boolean; authTimeoutMs?: number } = {},
) {
  const verify: VerifyToken = o.verify ?? ((t) => (t.startsWith('good:') ? { id: t.slice(5) } : null));
  const config = resolveConfig({ auth: { verify }, authTimeoutMs: o.authTimeoutMs ?? 5000 });
  const store = o.store ?? memoryStore();
  const events = createEventBus(undefined);
  const protection = createProtection({
    store,
    limits: config.limits,
    anomaly: config.anomaly,
    onAnomaly: undefined,
    events,
    now: Date.now,
  });
  const sessions = createSessionManager(store, config.session, events, Date.now);
  const refused: [string, GateRejection][] = [];
  const admit = createAdmission({
    config,
    verifier: createTokenVerifier({ verify }),
    protection,
    sessions,
    closing: () => o.closing ?? false,
    events,
    onRejected: (ip, r) => refused.push([ip, r]),
  });
  return { admit, refused, store };
}

const req = (headers: Record<string, string> = {}) =>
  memoryUpgradeRequest({
    headers: {
      upgrade: 'websocket',
      connection: 'Upgrade',
      host: '127.0.0.1',
      'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
      'sec-websocket-version': '13',
      ...headers,
    },
  });

describe('admission', () => {
  it('admits a good upgrade without a token (auth comes in the first message)', async () => {
    const a = admission();
    expect(await a.admit(req())).toEqual({ ok: true, ip: '127.0.0.1' });
    expect(a.refused).toEqual([]);
  });

  it('admits a good token with its principal', async () => {
    const d = await admission().admit(req({ authorization: 'Bearer good:alice' }));
    expect(d).toMatchObject({ ok: true, principal: { id: 'alice' }, tokenSource: 'header' });
  });

  it.each<[string, Parameters<typeof admission>[0], Record<string, string>, string]>([
    ['shutting down', { closing: true }, {}, 'WSG_OVERLOADED'],
    ['a foreign Origin', {}, { origin: 'https://evil.example' }, 'WSG_ORIGIN_FORBIDDEN'],
    ['a refused token', {}, { authorization: 'Bearer bad' }, 'WSG_AUTH_FAILED'],
    ['an upgrade to another protocol', {}, { upgrade: 'h2c' }, 'WSG_BAD_REQUEST'],
  ])('refuses %s with its code, and reports it', async (_name, o, headers, code) => {
    const a = admission(o);
    const d = await a.admit(req(headers));
    expect(d).toMatchObject({ ok: false, ip: '127.0.0.1', rejection: { code } });
    expect(a.refused.map(([ip, r]) => [ip, r.code])).toEqual([['127.0.0.1', code]]);
  });

  it('refuses a banned IP, a blocked user and a revoked user', async () => {
    const a = admission();
    await a.store.setBlock(keys.userBlock('mallory'), { until: Date.now() + 60_000, level: 1, reason: 'x' });
    expect(await a.admit(req({ authorization: 'Bearer good:mallory' }))).toMatchObject({
      rejection: { code: 'WSG_BLOCKED' },
    });
    await a.store.revoke('user', 'trudy', Date.now() + 60_000);
    expect(await a.admit(req({ authorization: 'Bearer good:trudy' }))).toMatchObject({
      rejection: { code: 'WSG_SESSION_REVOKED' },
    });
    await a.store.setBlock(keys.ban('127.0.0.1'), { until: Date.now() + 60_000, level: 1, reason: 'x' });
    expect(await a.admit(req())).toMatchObject({ rejection: { code: 'WSG_BANNED' } });
  });

  it('answers 503 WSG_OVERLOADED when the decision takes longer than authTimeoutMs', async () => {
    const a = admission({ verify: () => new Promise(() => {}), authTimeoutMs: 20 });
    expect(await a.admit(req({ authorization: 'Bearer slow' }))).toMatchObject({
      ok: false,
      rejection: { code: 'WSG_OVERLOADED' },
    });
  });

  it('answers WSG_OVERLOADED when the store fails (no shared state, no one gets in)', async () => {
    const store = memoryStore();
    const failing = Object.assign(Object.create(store) as Store, {
      getBlock: () => Promise.reject(new Error('ECONNREFUSED')),
    });
    const a = admission({ store: failing });
    expect(await a.admit(req())).toMatchObject({
      ok: false,
      rejection: { code: 'WSG_OVERLOADED', detail: 'Error: ECONNREFUSED' },
    });
  });
});
