import type { Protocol } from './protocols/types.js';
import type { Signer } from './signer.js';

/** Every load the audit may put on the target; each is enforced where the load is sent. */
export interface AuditBounds {
  /** How long to wait for one answer, ms. @default 2000 */
  timeoutMs: number;
  /** Most messages in one rate-limit burst (each of the burst checks sends at most this many). @default 300 */
  burst: number;
  /** Most sockets the connection flood opens (--full). @default 50 */
  connections: number;
  /** Most messages the latency, throughput and message-flood checks send, each (--full). @default 500 */
  messages: number;
  /** Longest a timed load runs (throughput, slow headers), ms (--full). @default 5000 */
  durationMs: number;
  /** Longest the auth-timeout check keeps a silent socket open, ms. @default 10000 */
  authWaitMs: number;
}

/** How politely the audit treats the target. */
export interface AuditManners {
  /** Most upgrades in any 60 s until the server announces its own limit (wsguard's default is 30 per IP). @default 24 */
  upgradesPerMinute: number;
  /** Pace upgrades by the limit the server announces in `auth_ok.limits.connectionsPerIp` (false: --upgrades-per-minute fixes the pace). @default true */
  followAnnounced: boolean;
  /** Most upgrades in the whole run. @default 150 */
  budget: number;
  /** Run rate-limit.escalation, which gets the auditor blocked on a defended server. @default false */
  escalate: boolean;
}

export const DEFAULT_MANNERS: AuditManners = {
  upgradesPerMinute: 24,
  followAnnounced: true,
  budget: 150,
  escalate: false,
};

export const DEFAULT_BOUNDS: AuditBounds = {
  timeoutMs: 2000,
  burst: 300,
  connections: 50,
  messages: 500,
  durationMs: 5000,
  authWaitMs: 10_000,
};

/** At most `max` upgrades in any `windowMs`. */
export interface UpgradePace {
  max: number;
  windowMs: number;
}

/** A message bucket: `rate` per second, `burst` at most. */
export interface MessagePace {
  rate: number;
  burst: number;
}

/** What the checks share during one audit. */
export interface AuditContext {
  /** The WebSocket URL under audit. */
  url: string;
  target: URL;
  token: string;
  /** A valid token of another user (the refresh-subject check); undefined skips that check. */
  otherToken: string | undefined;
  /** Signs tokens with the server's key (--secret / --private-key); the deep JWT checks skip without it. */
  signer: Signer | undefined;
  /** The legitimate browser origin, e.g. `https://app.example.com`. */
  origin: string;
  /** A message type the server handles (the CSRF, input and rate-limit checks send it). */
  type: string;
  /** A valid payload of `type` (--payload); undefined sends the checks' own filler payloads. */
  payload: unknown;
  full: boolean;
  /** Accept an untrusted TLS certificate (--insecure); `transport.tls` still reports it. */
  insecure: boolean;
  bounds: AuditBounds;
  /** Prints a line with --verbose; silent otherwise. */
  verbose: (line: string) => void;
  /** Every text the server sent back (frames, close reasons, refusal bodies and headers), for the error checks. */
  seen: { where: string; text: string }[];
  /** Upgrades this run made: at most `max` in any `windowMs`, `budget` in the run. */
  upgrades: {
    times: number[];
    total: number;
    max: number;
    windowMs: number;
    budget: number;
    /** Adopt the server's announced limit (see adoptAnnouncedLimits). */
    follow: boolean;
    /** The upgrade limit the server announced, once an auth_ok said. */
    announced?: UpgradePace;
  };
  /** Whether the limits of an auth_ok were read (the first one's count). */
  limitsRead?: boolean;
  /** The shared message bucket once the server announced message limits (see paceMessages). */
  messages?: MessagePace & { tokens: number; at: number };
  /** The first lockout (429/403/block) the server answered the auditor with; the run stops there. */
  lockout: { check: string; detail: string; retryAfterS: number | undefined } | undefined;
  /** Checks during which the server sent a frame or body above the audit's read bounds. */
  oversized: string[];
  /** Whether the target host resolves to loopback addresses only. */
  loopback: boolean;
  /** Round trip measured before the first check, ms; every wait is scaled by it. */
  rttMs: number;
  /** Set by the authentication checks when the server handles messages without any authentication. */
  noAuth: boolean;
  /** The first `auth_ok` the audit received (the session checks read it). */
  authOk: Record<string, unknown> | undefined;
  /** The check running now (where evidence is recorded). */
  current: string;
  /** When the running check must stop waiting for answers (performance.now() time). */
  deadline: number;
  /** Results one check leaves for a later one (e.g. the burst size for the reconnect check). */
  memo: Map<string, unknown>;
  /** Run rate-limit.escalation (--escalate). */
  escalate: boolean;
  /** The first answer to the preflight upgrade. */
  preflight?: { status: number; headers: Record<string, string | string[] | undefined> };
  /** The protocol the target speaks (--protocol, or detected): how sockets open and probes are framed. */
  protocol: Protocol;
  /** Sockets a check keeps open for a later one; closed at the end of the audit. */
  pending: Map<string, Promise<unknown>>;
  /** Run when the audit ends (closes what `pending` holds open). */
  cleanup: (() => void)[];
}
