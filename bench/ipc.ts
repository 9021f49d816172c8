import type { ChildProcess } from 'node:child_process';
import type { Variant, Workload } from './load.js';

/**
 * Sends `message` to a bench server process (when given) and resolves with the `key` field of
 * the first answer that has it; rejects on an answer with `error`.
 */
export function ask<T>(child: ChildProcess, message: unknown, key: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const on = (m: Record<string, unknown>) => {
      if (key in m) {
        child.off('message', on);
        resolve(m[key] as T);
      } else if ('error' in m) reject(new Error(String(m.error)));
    };
    child.on('message', on);
    if (message !== undefined) child.send(message as never);
  });
}

/** A request to open `sockets` connections (numbered from `firstSocket`) and hold them, idle. */
export function holdRequest(variant: Variant, port: number, sockets: number, firstSocket = 0): Workload {
  return {
    variant,
    port,
    sockets,
    firstSocket,
    inflight: 0,
    payloadBytes: 100,
    warmupMs: 0,
    durationMs: 0,
    invalidRatio: 0,
    holdOnly: true,
  };
}
