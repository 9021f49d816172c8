import { execFileSync } from 'node:child_process';
import { Redis } from 'ioredis';
import { type Child, freePort, startChild } from './process.js';
import { repoRoot } from './project.js';

function findRedisServer(): string | undefined {
  try {
    return execFileSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

/** Path of Debian's redis-server, or undefined on a machine without it (the Redis tests skip). */
export const redisServerPath = findRedisServer();
export const hasRedis = redisServerPath !== undefined;
if (!hasRedis) {
  console.warn(
    '[wsguard tests] redis-server not found on PATH: the Redis store tests are SKIPPED. ' +
      'Install it (apt-get install redis-server) to run them; .ci/run does this itself.',
  );
}

/** A real redis-server on 127.0.0.1, no persistence, owned by the test. */
export interface RedisServer {
  port: number;
  url: string;
  /** Starts (again) on the same port; resolves when it accepts connections. */
  start(): Promise<void>;
  /** Kills it hard (SIGKILL), as an outage would. */
  kill(): Promise<void>;
  /** Stops it and resolves when the process is gone. */
  stop(): Promise<void>;
  /** Freezes it (SIGSTOP): connections stay open and nothing answers, as a hung Redis. */
  pause(): void;
  /** Thaws it (SIGCONT). */
  resume(): void;
  /** Keys under `prefix` that have no TTL (SCAN + PTTL). */
  keysWithoutTtl(prefix: string): Promise<string[]>;
  /** Every key under `prefix`. */
  keys(prefix: string): Promise<string[]>;
}

export async function startRedis(): Promise<RedisServer> {
  if (!redisServerPath) throw new Error('redis-server is not installed');
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  let child: Child | undefined;
  const scan = async (prefix: string, withoutTtl: boolean) => {
    const c = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
    await c.connect();
    try {
      const found: string[] = [];
      let cursor = '0';
      do {
        const [next, batch] = await c.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
        cursor = next;
        for (const k of batch) if (!withoutTtl || (await c.pttl(k)) === -1) found.push(k);
      } while (cursor !== '0');
      return found;
    } finally {
      c.disconnect();
    }
  };
  const server: RedisServer = {
    port,
    url,
    async start() {
      child = startChild(
        redisServerPath,
        [
          '--port',
          String(port),
          '--bind',
          '127.0.0.1',
          '--save',
          '',
          '--appendonly',
          'no',
          '--protected-mode',
          'no',
        ],
        { cwd: repoRoot },
      );
      await child.waitFor(/Ready to accept connections/);
    },
    async kill() {
      child?.proc.kill('SIGKILL');
      await child?.stop();
    },
    async stop() {
      child?.proc.kill('SIGCONT');
      await child?.stop();
    },
    pause() {
      child?.proc.kill('SIGSTOP');
    },
    resume() {
      child?.proc.kill('SIGCONT');
    },
    keysWithoutTtl: (prefix) => scan(prefix, true),
    keys: (prefix) => scan(prefix, false),
  };
  await server.start();
  return server;
}
