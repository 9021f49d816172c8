import type { GuardSocket, UpgradeRequest } from '../../src/server/socket.js';

/**
 * An in-process GuardSocket: what the guard sends and how it closes are recorded instead of
 * going to a network, so the whole pipeline (stages, handlers, replies) runs without ws or TCP.
 */
export interface MemorySocket extends GuardSocket {
  /** Every frame the guard sent, in order. */
  readonly sent: string[];
  /** The close the guard asked for, if any. */
  closed: { code: number; reason: string } | undefined;
  terminated: boolean;
}

export function memorySocket(): MemorySocket {
  const s: MemorySocket = {
    sent: [],
    closed: undefined,
    terminated: false,
    send(data) {
      if (s.isOpen) s.sent.push(data);
    },
    close(code, reason) {
      s.closed ??= { code, reason };
    },
    terminate() {
      s.terminated = true;
    },
    ping() {},
    bufferedAmount: 0,
    get isOpen() {
      return s.closed === undefined && !s.terminated;
    },
  };
  return s;
}

/** A plain upgrade request as the ws adapter would describe it. */
export function memoryUpgradeRequest(overrides: Partial<UpgradeRequest> = {}): UpgradeRequest {
  return {
    url: '/ws',
    method: 'GET',
    headers: { upgrade: 'websocket', host: '127.0.0.1' },
    remoteAddress: '127.0.0.1',
    encrypted: false,
    httpVersion: '1.1',
    ...overrides,
  };
}
