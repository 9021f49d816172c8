/** The bits of `flags`. */
const ALIVE = 1;
const EXPIRING_SENT = 2;
const HOLDS_USER_SLOT = 4;
const AUTHENTICATED = 8;

/**
 * A connection's booleans, one bit each of one field: every field costs each idle socket 8
 * bytes, and a server holds tens of thousands of them. The base of connection.ts's Connection.
 */
export class ConnectionFlags {
  private flags = ALIVE;

  private has(bit: number): boolean {
    return (this.flags & bit) !== 0;
  }
  private put(bit: number, v: boolean): void {
    this.flags = v ? this.flags | bit : this.flags & ~bit;
  }

  /** Answered the last transport ping. */
  get alive(): boolean {
    return this.has(ALIVE);
  }
  set alive(v: boolean) {
    this.put(ALIVE, v);
  }
  /** `session_expiring` already pushed for the current expiry. */
  get expiringSent(): boolean {
    return this.has(EXPIRING_SENT);
  }
  set expiringSent(v: boolean) {
    this.put(EXPIRING_SENT, v);
  }
  /** This socket holds one of its user's concurrent-socket slots in the store. */
  get holdsUserSlot(): boolean {
    return this.has(HOLDS_USER_SLOT);
  }
  set holdsUserSlot(v: boolean) {
    this.put(HOLDS_USER_SLOT, v);
  }
  /** Counted among the server's authenticated sockets (connection/registry.ts). */
  get authenticated(): boolean {
    return this.has(AUTHENTICATED);
  }
  set authenticated(v: boolean) {
    this.put(AUTHENTICATED, v);
  }
}
