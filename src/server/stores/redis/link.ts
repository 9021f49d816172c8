import type { Redis, RedisOptions } from 'ioredis';
import { WsgError } from '../../errors.js';
import { loadOptional } from '../../optional.js';
import type { MaybePromise, StoreStatus } from '../types.js';
import type { FailMode, RedisStoreOptions, StatusListener } from './options.js';
import { SCRIPTS, type ScriptName } from './scripts.js';

/** After a failed or timed-out command, how long the store stays on its fallback before it probes Redis. */
const BREAK_MS = 1000;
/** Longest wait between probes of a Redis that keeps failing them. */
const MAX_BREAK_MS = 10_000;

export type { StatusListener } from './options.js';

/**
 * The store's two Redis connections (commands, and one in subscriber mode) and the one rule
 * every operation follows: use Redis while it answers, else the fail mode decides.
 */
export interface RedisLink {
  readonly client: Redis;
  readonly subscriber: Redis;
  readonly prefix: string;
  readonly failMode: FailMode;
  /** True while commands should go to Redis. */
  usable(): boolean;
  /** `op` on Redis; when Redis is not usable or `op` fails, `local()` (open) or WSG_OVERLOADED (closed). */
  run<T>(op: () => Promise<T>, local: () => MaybePromise<T>): MaybePromise<T>;
  script(name: ScriptName, key: string, ...args: (string | number)[]): Promise<unknown>;
  status(): StoreStatus;
  onStatus(listener: StatusListener): () => void;
  /**
   * Hears every time both connections become usable: the first time after start too (which
   * onStatus keeps quiet about), after a reconnect, and after a failed command's break ends.
   */
  onUp(listener: () => void): () => void;
  close(): Promise<void>;
}

export function createRedisLink(options: RedisStoreOptions): RedisLink {
  const prefix = options.prefix ?? 'wsguard:';
  const failMode = options.failMode ?? 'open';
  const owned = options.client === undefined;
  // ioredis is an optional peer dependency: loaded here, when a Redis store is made.
  const { Redis, ReplyError } = loadOptional<typeof import('ioredis')>('ioredis', 'redisStore()');
  const client =
    (options.client as Redis | undefined) ??
    new Redis(options.url ?? 'redis://127.0.0.1:6379', {
      // Fail fast while disconnected: the fallback answers instead of a queue that grows.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      commandTimeout: options.commandTimeoutMs ?? 250,
      connectTimeout: 2000,
      enableAutoPipelining: true,
      // Reconnect forever, backing off to one try every 2 s.
      retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 6), 2000),
      ...(options.redisOptions as RedisOptions | undefined),
    });
  // Subscriber mode needs its own connection; ioredis re-subscribes it after a reconnect. Its
  // SUBSCRIBE commands wait for the connection (never dropped after a retry), so a node started
  // before Redis still gets its channels.
  const subscriber = client.duplicate({
    enableOfflineQueue: true,
    maxRetriesPerRequest: null,
    commandTimeout: undefined,
  });
  for (const [name, lua] of Object.entries(SCRIPTS)) client.defineCommand(name, { numberOfKeys: 1, lua });

  // Set by a failed command: the store stays on its fallback until a PING answers again.
  let broken = false;
  let breakMs = BREAK_MS;
  let breakTimer: NodeJS.Timeout | undefined;
  let reported: StoreStatus = 'ok';
  let lastError: string | undefined;
  const listeners = new Set<StatusListener>();
  const upListeners = new Set<() => void>();
  let up = false;

  const status = (): StoreStatus =>
    client.status === 'ready' && subscriber.status === 'ready' && !broken ? 'ok' : 'degraded';
  const update = () => {
    const s = status();
    const wasUp = up;
    up = s === 'ok';
    if (up && !wasUp) for (const l of upListeners) l();
    if (s === reported) return;
    // Starting up is not an outage: say nothing until the first failure or the first ready.
    if (s === 'degraded' && lastError === undefined) return;
    reported = s;
    const detail = lastError;
    if (s === 'ok') lastError = undefined;
    for (const l of listeners) l(s, s === 'degraded' ? detail : undefined);
  };
  const failed = (err: unknown) => {
    lastError = err instanceof Error ? err.message : String(err);
    update();
  };
  for (const c of [client, subscriber]) {
    // Without a listener ioredis prints every connection error; the status events say it once.
    c.on('error', failed);
    c.on('close', () => failed(lastError ?? 'connection closed'));
    c.on('ready', update);
  }
  // A fresh connection is a fresh start: no need to wait for the next probe.
  client.on('ready', () => {
    broken = false;
    breakMs = BREAK_MS;
    clearTimeout(breakTimer);
    update();
  });

  const probe = () => {
    breakTimer = undefined;
    client.ping().then(
      () => {
        broken = false;
        breakMs = BREAK_MS;
        update();
      },
      () => schedule(Math.min(breakMs * 2, MAX_BREAK_MS)),
    );
  };
  const schedule = (ms: number) => {
    breakMs = ms;
    clearTimeout(breakTimer);
    breakTimer = setTimeout(probe, ms);
    breakTimer.unref();
  };
  const trip = (err: unknown) => {
    if (!broken) {
      broken = true;
      schedule(BREAK_MS);
    }
    failed(err);
  };
  // A reply error (a bad argument, a script bug) is about one command, not about Redis.
  const isOutage = (err: unknown) => !(err instanceof ReplyError);
  const unavailable = <T>(local: () => MaybePromise<T>): MaybePromise<T> => {
    if (failMode === 'open') return local();
    return Promise.reject(new WsgError('WSG_OVERLOADED', { detail: 'store unavailable' }));
  };
  // Either connection down counts as an outage: commands and pub/sub fail over together.
  const usable = () => status() === 'ok';

  return {
    client,
    subscriber,
    prefix,
    failMode,
    usable,
    run(op, local) {
      if (!usable()) return unavailable(local);
      return op().catch((err: unknown) => {
        if (isOutage(err)) trip(err);
        return unavailable(local);
      });
    },
    script(name, key, ...args) {
      const fn = (client as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>)[name];
      return (fn as (...a: unknown[]) => Promise<unknown>).call(client, prefix + key, ...args);
    },
    status,
    onStatus(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    onUp(listener) {
      upListeners.add(listener);
      return () => upListeners.delete(listener);
    },
    async close() {
      clearTimeout(breakTimer);
      listeners.clear();
      upListeners.clear();
      subscriber.disconnect();
      if (owned) {
        await client.quit().catch(() => client.disconnect());
      }
    },
  };
}
