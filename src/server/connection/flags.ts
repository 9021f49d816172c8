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

  /** Answered the last transport ping. */
  get alive(): boolean {
    return (this.flags & ALIVE) !== 0;
  }
  set alive(v: boolean) {
    this.flags = v ? this.flags | ALIVE : this.flags & ~ALIVE;
  }
  /** `session_expiring` already pushed for the current expiry. */
  get expiringSent(): boolean {
    return (this.flags & EXPIRING_SENT) !== 0;
  }
  set expiringSent(v: boolean) {
    this.flags = v ? this.flags | EXPIRING_SENT : this.flags & ~EXPIRING_SENT;
  }
  /** This socket holds one of its user's concurrent-socket slots in the store. */
  get holdsUserSlot(): boolean {
    return (this.flags & HOLDS_USER_SLOT) !== 0;
  }
  set holdsUserSlot(v: boolean) {
    this.flags = v ? this.flags | HOLDS_USER_SLOT : this.flags & ~HOLDS_USER_SLOT;
  }
  /** Counted among the server's authenticated sockets (connection/registry.ts). */
  get authenticated(): boolean {
    return (this.flags & AUTHENTICATED) !== 0;
  }
  set authenticated(v: boolean) {
    this.flags = v ? this.flags | AUTHENTICATED : this.flags & ~AUTHENTICATED;
  }
}
