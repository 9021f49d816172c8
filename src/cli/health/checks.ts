import { AuthError, SecureWebSocket, ServerError, type WebSocketConstructor } from '../../client/index.js';
import { readAnnouncedLimits } from '../../protocol/index.js';
import type { CheckLine } from '../output.js';
import { authedProbe, BoundedWebSocket, type Probe } from '../probe.js';

export interface HealthContext {
  url: string;
  token: string;
  /** App-level ping samples. */
  samples: number;
  /** Message type the server acks (to test acks and the burst). */
  echoType: string;
  /** A valid payload of `echoType` (--payload); undefined sends the checks' own values. */
  payload?: unknown;
  verbose: (line: string) => void;
}

export interface CheckResult extends CheckLine {
  id: string;
  data?: Record<string, unknown>;
}

const since = (t: number) => performance.now() - t;

/** The payload a check sends: the app's own (--payload) when given. */
const payloadOf = (ctx: HealthContext, fallback: unknown) =>
  ctx.payload === undefined ? fallback : ctx.payload;

async function timed(
  id: string,
  name: string,
  run: () => Promise<{ ok: boolean; detail?: string; data?: Record<string, unknown> }>,
): Promise<CheckResult> {
  const t = performance.now();
  try {
    const r = await run();
    return { id, name, ms: since(t), ...r };
  } catch (err) {
    const message = (err as Error).message.split('\n')[0] ?? 'failed';
    const code = err instanceof ServerError ? err.code : undefined;
    return { id, name, ms: since(t), ok: false, detail: code ? `${code}: ${message}` : message };
  }
}

function waitState(socket: SecureWebSocket, state: string, timeoutMs: number): Promise<void> {
  if (socket.state === state) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`not ${state} within ${timeoutMs} ms (state ${socket.state})`));
    }, timeoutMs);
    const off = socket.addEventListener('stateChange', () => {
      if (socket.state === state) {
        clearTimeout(timer);
        off();
        resolve();
      }
    });
  });
}

/** A client whose raw sockets the check can reach (to drop one and watch the reconnect). */
async function trackedClient(ctx: HealthContext, extra: { getToken?: () => Promise<string> } = {}) {
  const opened: BoundedWebSocket[] = [];
  const Tracked = class extends BoundedWebSocket {
    constructor(...args: ConstructorParameters<typeof BoundedWebSocket>) {
      super(...args);
      opened.push(this);
    }
  } as unknown as WebSocketConstructor;
  const socket = new SecureWebSocket({
    url: ctx.url,
    ...(extra.getToken ? { getToken: extra.getToken } : { authToken: ctx.token }),
    WebSocket: Tracked,
    ackTimeoutMs: 5000,
    reconnect: { minDelayMs: 50, maxDelayMs: 500, maxRetries: 5 },
    heartbeat: false,
  });
  return { socket, opened };
}

export function connectionCheck(client: SecureWebSocket): Promise<CheckResult> {
  return timed('connection', 'Connection establishment', async () => {
    const t = performance.now();
    await waitState(client, 'authenticating', 5000).catch(() => waitState(client, 'open', 1));
    return { ok: true, detail: `open in ${Math.round(since(t))} ms` };
  });
}

export function authCheck(ctx: HealthContext, client: SecureWebSocket): Promise<CheckResult> {
  return timed('authentication', 'Authentication', async () => {
    await waitState(client, 'open', 5000);
    const refused = new SecureWebSocket({
      url: ctx.url,
      authToken: `invalid-${Date.now()}`,
      reconnect: false,
      heartbeat: false,
      WebSocket: BoundedWebSocket as unknown as WebSocketConstructor,
    });
    let timer: NodeJS.Timeout | undefined;
    const outcome = await new Promise<AuthError | Error>((resolve) => {
      refused.addEventListener('error', (e) => resolve(e));
      refused.addEventListener('open', () => resolve(new Error('an invalid token was accepted')));
      timer = setTimeout(() => resolve(new Error('no answer to an invalid token within 5 s')), 5000);
    }).finally(() => {
      clearTimeout(timer);
      refused.close();
    });
    if (!(outcome instanceof AuthError)) return { ok: false, detail: outcome.message };
    return {
      ok: true,
      detail: `valid token accepted; invalid refused with ${outcome.code ?? 'an auth error'}`,
    };
  });
}

export function latencyCheck(ctx: HealthContext, client: SecureWebSocket): Promise<CheckResult> {
  return timed('latency', `Ping/pong latency (${ctx.samples} samples)`, async () => {
    const ms: number[] = [];
    for (let i = 0; i < ctx.samples; i++) ms.push(await client.ping(3000));
    ms.sort((a, b) => a - b);
    const q = (p: number) =>
      Math.round((ms[Math.min(ms.length - 1, Math.floor(p * ms.length))] as number) * 100) / 100;
    const data = { min: q(0), p50: q(0.5), p95: q(0.95), max: q(1) };
    return {
      ok: true,
      detail: `min ${data.min} / p50 ${data.p50} / p95 ${data.p95} / max ${data.max} ms`,
      data,
    };
  });
}

export function reconnectCheck(ctx: HealthContext): Promise<CheckResult> {
  return timed('reconnection', 'Automatic reconnection', async () => {
    let tokens = 0;
    const { socket, opened } = await trackedClient(ctx, {
      getToken: async () => {
        tokens++;
        return ctx.token;
      },
    });
    try {
      await waitState(socket, 'open', 5000);
      const first = socket.sessionId;
      const t = performance.now();
      opened[opened.length - 1]?.terminate();
      await waitState(socket, 'reconnecting', 2000).catch(() => {});
      await waitState(socket, 'open', 10_000);
      const recovered = since(t);
      const reauthed = tokens >= 2 && socket.sessionId !== first;
      await socket.send({ type: ctx.echoType, payload: payloadOf(ctx, 'after reconnect') } as never);
      return {
        ok: reauthed,
        detail: reauthed
          ? `back and re-authenticated in ${Math.round(recovered)} ms`
          : 'reconnected without re-authenticating',
        data: { recoveredMs: Math.round(recovered) },
      };
    } finally {
      socket.close();
    }
  });
}

export function csrfCheck(ctx: HealthContext): Promise<CheckResult> {
  return timed('csrf', 'Security: CSRF token', async () => {
    const { probe, ok } = await authedProbe(ctx.url, ctx.token);
    try {
      const token = ok?.csrfToken;
      if (typeof token !== 'string' || token.length < 22)
        return { ok: false, detail: 'auth_ok carried no CSRF token' };
      probe.send({ id: 'health-no-csrf', type: ctx.echoType, payload: payloadOf(ctx, 1) });
      const reply = await probe.next(undefined, 3000);
      const refused = reply?.type === 'error' && reply.code === 'WSG_CSRF_INVALID';
      return {
        ok: refused,
        detail: refused
          ? 'issued; a message without it is refused'
          : `a message without the token got ${reply ? `${String(reply.type)}${typeof reply.code === 'string' ? ` ${reply.code}` : ''}` : 'no answer'}`,
      };
    } finally {
      probe.close();
    }
  });
}

export function sizeCheck(ctx: HealthContext): Promise<CheckResult> {
  return timed('size', 'Security: message size limit', async () => {
    const { probe, ok } = await authedProbe(ctx.url, ctx.token);
    try {
      if (!ok) return { ok: false, detail: 'not authenticated' };
      const p = payloadOf(ctx, undefined);
      const pad = 'x'.repeat(64 * 1024);
      // Padded inside the app's own payload, so only the size is wrong.
      const payload =
        p !== null && typeof p === 'object' && !Array.isArray(p) ? { ...p, healthPad: pad } : pad;
      probe.sendRaw(JSON.stringify({ id: 'health-big', type: ctx.echoType, payload, csrf: ok.csrfToken }));
      let timer: NodeJS.Timeout | undefined;
      const closed = await Promise.race([
        probe.closed,
        new Promise<undefined>((r) => {
          timer = setTimeout(() => r(undefined), 3000);
        }),
      ]).finally(() => clearTimeout(timer));
      return closed?.code === 1009
        ? { ok: true, detail: 'a 64 KiB message is refused with 1009' }
        : { ok: false, detail: `a 64 KiB message was ${closed ? `closed with ${closed.code}` : 'accepted'}` };
    } finally {
      probe.close();
    }
  });
}

export function rateLimitCheck(ctx: HealthContext): Promise<CheckResult> {
  return timed('rate-limit', 'Security: rate limiting', async () => {
    const { probe, ok } = await authedProbe(ctx.url, ctx.token);
    try {
      if (!ok) return { ok: false, detail: 'not authenticated' };
      const burst = readAnnouncedLimits(ok.limits)?.burst;
      if (burst !== undefined) return await pacedBurst(probe, ctx, ok.csrfToken, burst);
      // Batches of 10, stopping at the first refusal: enough to meet the limit, too few
      // refusals to climb the penalty ladder and block the user.
      for (let sent = 0; sent < 600; ) {
        for (let i = 0; i < 10; i++, sent++)
          probe.send({
            id: `burst-${sent}`,
            type: ctx.echoType,
            payload: payloadOf(ctx, sent),
            csrf: ok.csrfToken,
          });
        for (let i = 0; i < 10; i++) {
          const reply = await probe.next(undefined, 3000);
          if (!reply) return { ok: false, detail: 'the server stopped answering during the burst' };
          if (reply.type === 'error' && reply.code === 'WSG_RATE_LIMITED') {
            return { ok: true, detail: `a burst met WSG_RATE_LIMITED after ${sent} messages` };
          }
          if (reply.type === 'error')
            return { ok: false, detail: `the burst's message was refused with ${String(reply.code)}` };
        }
      }
      return { ok: false, detail: 'a burst of 600 messages was never limited' };
    } finally {
      probe.close();
    }
  });
}

/**
 * Paced by `auth_ok.limits`: the announced burst at once, then one message at a time until the
 * first refusal. The limit is shown with a single refused message, which the server does not
 * hold against a client that then stops (docs/rate-limits.md), so a health run leaves its
 * address in good standing.
 */
async function pacedBurst(probe: Probe, ctx: HealthContext, csrf: unknown, burst: number) {
  const send = (n: number) =>
    probe.send({ id: `burst-${n}`, type: ctx.echoType, payload: payloadOf(ctx, n), csrf });
  const limited = (r: Record<string, unknown>) => r.type === 'error' && r.code === 'WSG_RATE_LIMITED';
  // Any other refusal means the probe itself is wrong (e.g. a payload the app's schema refuses).
  const refused = (r: Record<string, unknown>) =>
    r.type === 'error' && !limited(r)
      ? { ok: false, detail: `the burst's message was refused with ${String(r.code)}` }
      : undefined;
  const count = Math.min(burst, 1000);
  for (let n = 0; n < count; n++) send(n);
  for (let n = 0; n < count; n++) {
    const reply = await probe.next(undefined, 3000);
    if (!reply) return { ok: false, detail: 'the server stopped answering during the burst' };
    if (limited(reply)) return { ok: true, detail: `WSG_RATE_LIMITED within the announced burst (${burst})` };
    const wrong = refused(reply);
    if (wrong) return wrong;
  }
  for (let n = count; n < count + 50; n++) {
    send(n);
    const reply = await probe.next(undefined, 3000);
    if (!reply) return { ok: false, detail: 'the server stopped answering during the burst' };
    if (limited(reply))
      return { ok: true, detail: `WSG_RATE_LIMITED after ${n} messages (announced burst ${burst})` };
    const wrong = refused(reply);
    if (wrong) return wrong;
  }
  return { ok: false, detail: `the announced burst (${burst}) was not enforced` };
}

export function unknownTypeCheck(client: SecureWebSocket): Promise<CheckResult> {
  return timed('unknown-type', 'Security: unknown message type', async () => {
    try {
      await client.send({ type: 'health-check-unknown-type', payload: 1 } as never);
      return { ok: false, detail: 'an unknown type was accepted' };
    } catch (err) {
      const code = err instanceof ServerError ? err.code : undefined;
      return code === 'WSG_UNKNOWN_TYPE'
        ? { ok: true, detail: 'refused with WSG_UNKNOWN_TYPE' }
        : { ok: false, detail: `refused with ${code ?? (err as Error).name}` };
    }
  });
}
