/**
 * The small socket interface the security logic works on. The `ws` adapter implements it;
 * nothing outside src/server/adapters imports `ws`.
 */
export interface GuardSocket {
  /** Sends one text frame. */
  send(data: string): void;
  /** Starts the closing handshake. `reason` is a short code (see formatCloseReason). */
  close(code: number, reason: string): void;
  /** Destroys the connection without a handshake. */
  terminate(): void;
  /** Sends a transport-level ping (for heartbeats). */
  ping(): void;
  /** Bytes queued but not yet written to the network. */
  readonly bufferedAmount: number;
  /** True while frames can still be sent. */
  readonly isOpen: boolean;
}

/** What the gate needs to know about an upgrade request: a view of http.IncomingMessage. */
export interface UpgradeRequest {
  readonly url: string;
  readonly method: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly remoteAddress: string;
  /** True when the connection to this process is TLS. */
  readonly encrypted: boolean;
  /** The request's HTTP version ('1.1'); WebSocket needs 1.1 or later. @default '1.1' when absent */
  readonly httpVersion?: string;
}
