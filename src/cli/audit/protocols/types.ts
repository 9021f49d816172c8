/** The wire protocols the audit knows how to speak. */
export const PROTOCOL_NAMES = ['wsguard', 'raw', 'socket.io', 'graphql-ws'] as const;
export type ProtocolName = (typeof PROTOCOL_NAMES)[number];

/** One frame from the server. */
export interface Frame {
  text: string;
  binary: boolean;
  /** The frame parsed as a JSON object, when it is one. */
  json: Record<string, unknown> | undefined;
}

/** What a protocol needs of an open socket. */
export interface Link {
  sendRaw(data: string | Buffer): void;
  /** The next frame, or undefined after `timeoutMs` or once the socket closed. */
  next(timeoutMs?: number): Promise<Frame | undefined>;
  closeInfo(): { code: number; reason: string } | undefined;
}

/** The application message the audit may send: `--type`, `--payload`, and the socket's CSRF token. */
export interface AppProbe {
  type: string;
  /** A valid payload of `type` (--payload); undefined sends the checks' own filler payloads. */
  payload: unknown;
  csrf?: string | undefined;
}

/** How the protocol's opening (after the upgrade, before any application message) went. */
export type Opening = { ok: true; received: string[] } | { ok: false; refusal: string; received: string[] };

/**
 * How the audit speaks one protocol: where to upgrade, how to open a session, how its
 * messages are framed and how its refusals look. Every builder returns the exact frame text.
 */
export interface Protocol {
  name: ProtocolName;
  /** Speaks wsguard's own messages (`auth`, `auth_ok`, CSRF tokens): the wsguard-only checks apply. */
  wsguard: boolean;
  /** Subprotocols offered on every upgrade. */
  subprotocols: readonly string[];
  /** The close code of the protocol's own deadline for an opening never made; undefined: any close. */
  openingTimeoutCode: number | undefined;
  /** The URL to upgrade when the user gave `url`. */
  endpoint(url: URL): URL;
  /**
   * The opening after the upgrade, with `token` as credentials or none (undefined). Absent:
   * nothing to open (raw), or wsguard's `auth`, which the socket layer does itself.
   */
  open?(link: Link, token: string | undefined, timeoutMs: number): Promise<Opening>;
  /** Answers keep-alives and swallows frames that answer no probe; true when `frame` was one. */
  background(frame: Frame, link: Link): boolean;
  /** The frame is the protocol's error reply. */
  isRefusal(frame: Frame): boolean;
  /** A harmless application message carrying `payload` (or --payload). */
  message(app: AppProbe, payload: unknown): string;
  /** A message carrying `payloadJson` (raw JSON text) where the application's data goes. */
  withPayload(app: AppProbe, payloadJson: string): string;
  /** A valid message of exactly `bytes` bytes (where the framing allows: at least that). */
  sized(app: AppProbe, bytes: number): string;
  /** A well-formed message of a type or event no server declares. */
  unknownType(app: AppProbe): string;
  /** A message cut off in the middle of its JSON. */
  truncated(app: AppProbe): string;
  /** Malformed messages that make a careless server throw. */
  provocations(app: AppProbe): string[];
}
