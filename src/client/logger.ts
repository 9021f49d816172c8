/** Where `debug: true` output goes. `console` fits. */
export interface ClientLogger {
  debug(message: string, context?: Record<string, unknown>): void;
}

export type DebugLog = (message: string, context?: Record<string, unknown>) => void;

const REDACTED = '[redacted]';
/** Keys whose values are never logged, whatever they hold. */
const SECRET_KEY = /token|csrf|authorization|secret|password|cookie/i;
/** Anything shaped like a JWT, in case a token the client never saw shows up in a string. */
const JWT_SHAPE = /eyJ[\w-]*\.[\w-]+\.[\w-]*/g;
const BEARER_PROTOCOL = /wsguard\.bearer\.[^\s,'"]+/g;
/** Keys holding a session id: logged shortened, enough to tell sessions apart, not to use one. */
const SESSION_KEY = /^session_?id$/i;
/** Runs of characters tokens are made of (base64, base64url, JWT, hex), checked against every secret ever held. */
const TOKEN_RUN = /[\w~+/.-]{8,}=*/g;

/** A session id as logs show it. */
export function shortId(id: string): string {
  return id.length <= 8 ? id : `${id.slice(0, 6)}…`;
}

/**
 * Removes secrets from a log value: values under secret-looking keys, every known secret
 * (tokens and CSRF tokens the client holds) wherever it appears in a string, and JWT shapes.
 */
export function redact(
  value: unknown,
  secrets: readonly string[],
  depth = 0,
  /** Whether a string was ever a secret (older ones than `secrets` holds). */
  known?: (s: string) => boolean,
): unknown {
  if (typeof value === 'string') {
    let out = value;
    for (const s of secrets) if (s.length >= 4 && out.includes(s)) out = out.split(s).join(REDACTED);
    if (known) out = out.replace(TOKEN_RUN, (run) => (known(run) ? REDACTED : run));
    return out.replace(JWT_SHAPE, REDACTED).replace(BEARER_PROTOCOL, `wsguard.bearer.${REDACTED}`);
  }
  if (typeof value !== 'object' || value === null) return value;
  if (depth > 5) return '[deep]';
  if (value instanceof Error) {
    return { name: value.name, message: redact(value.message, secrets, depth + 1, known) };
  }
  if (Array.isArray(value)) return value.map((v) => redact(v, secrets, depth + 1, known));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if (SECRET_KEY.test(k)) out[k] = REDACTED;
    else if (SESSION_KEY.test(k) && typeof v === 'string') out[k] = shortId(v);
    else out[k] = redact(v, secrets, depth + 1, known);
  }
  return out;
}

const consoleLogger: ClientLogger = {
  debug(message, context) {
    if (context === undefined) console.debug(`[wsguard] ${message}`);
    else console.debug(`[wsguard] ${message}`, context);
  },
};

/**
 * The client's debug log: a no-op unless enabled; everything passes through `redact` with the
 * secrets the client holds right now, and a throwing logger never breaks the client.
 */
export function createDebugLog(options: {
  enabled: boolean;
  logger: ClientLogger | undefined;
  secrets: () => readonly string[];
  /** Whether a string was ever a secret, however long ago. */
  known?: (s: string) => boolean;
}): DebugLog {
  if (!options.enabled) return () => {};
  const logger = options.logger ?? consoleLogger;
  return (message, context) => {
    try {
      const secrets = options.secrets();
      const { known } = options;
      const text = redact(message, secrets, 0, known) as string;
      if (context === undefined) logger.debug(text);
      else logger.debug(text, redact(context, secrets, 0, known) as Record<string, unknown>);
    } catch {
      // A logger must never take the connection down.
    }
  };
}

/**
 * The secrets the debug log redacts: every token and CSRF token the client ever held. The
 * newest `max` are kept as text (found anywhere in a string); all of them, however many, go
 * into a fixed-size Bloom filter of their hashes (found as a whole token-shaped run). Memory
 * stays at 8 KiB plus `max` strings; a false positive only redacts a harmless run.
 */
export interface SecretList {
  readonly list: readonly string[];
  remember(secret: string): void;
  /** Whether `s` was ever remembered (no false negatives). */
  has(s: string): boolean;
}

const BLOOM_BITS = 1 << 16;

function fnv1a(s: string, seed: number): number {
  let h = seed >>> 0;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

export function createSecretList(max: number): SecretList {
  const list: string[] = [];
  const bits = new Uint32Array(BLOOM_BITS / 32);
  const positions = (s: string) => {
    const a = fnv1a(s, 0x811c9dc5);
    const b = (fnv1a(s, 0x9747b28c) | 1) >>> 0;
    return [0, 1, 2].map((i) => (a + i * b) % BLOOM_BITS);
  };
  return {
    list,
    remember(secret) {
      for (const p of positions(secret)) bits[p >>> 5] = (bits[p >>> 5] ?? 0) | (1 << (p & 31));
      if (list.includes(secret)) return;
      list.push(secret);
      if (list.length > max) list.shift();
    },
    has(s) {
      return positions(s).every((p) => ((bits[p >>> 5] ?? 0) & (1 << (p & 31))) !== 0);
    },
  };
}

/** The most secrets kept as text for substring redaction: the recent ones are the live ones. */
const RECENT_SECRETS = 16;

/** The client's debug log and the secrets it redacts, the fixed token (if any) among them. */
export function createClientLog(options: {
  debug?: boolean | undefined;
  logger?: ClientLogger | undefined;
  authToken?: string | undefined;
}): { log: DebugLog; secrets: SecretList } {
  const secrets = createSecretList(RECENT_SECRETS);
  if (options.authToken !== undefined) secrets.remember(options.authToken);
  const log = createDebugLog({
    enabled: options.debug === true,
    logger: options.logger,
    secrets: () => secrets.list,
    known: (s) => secrets.has(s),
  });
  return { log, secrets };
}
