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

/**
 * Removes secrets from a log value: values under secret-looking keys, every known secret
 * (tokens and CSRF tokens the client holds) wherever it appears in a string, and JWT shapes.
 */
export function redact(value: unknown, secrets: readonly string[], depth = 0): unknown {
  if (typeof value === 'string') {
    let out = value;
    for (const s of secrets) if (s.length >= 4 && out.includes(s)) out = out.split(s).join(REDACTED);
    return out.replace(JWT_SHAPE, REDACTED).replace(BEARER_PROTOCOL, `wsguard.bearer.${REDACTED}`);
  }
  if (typeof value !== 'object' || value === null) return value;
  if (depth > 5) return '[deep]';
  if (value instanceof Error) {
    return { name: value.name, message: redact(value.message, secrets, depth + 1) };
  }
  if (Array.isArray(value)) return value.map((v) => redact(v, secrets, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] = SECRET_KEY.test(k) ? REDACTED : redact(v, secrets, depth + 1);
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
}): DebugLog {
  if (!options.enabled) return () => {};
  const logger = options.logger ?? consoleLogger;
  return (message, context) => {
    try {
      const secrets = options.secrets();
      const text = redact(message, secrets) as string;
      if (context === undefined) logger.debug(text);
      else logger.debug(text, redact(context, secrets) as Record<string, unknown>);
    } catch {
      // A logger must never take the connection down.
    }
  };
}

/** The secrets the debug log redacts: every token and CSRF token the client held, the newest `max`. */
export interface SecretList {
  readonly list: readonly string[];
  remember(secret: string): void;
}

export function createSecretList(max: number): SecretList {
  const list: string[] = [];
  return {
    list,
    remember(secret) {
      if (list.includes(secret)) return;
      list.push(secret);
      if (list.length > max) list.shift();
    },
  };
}
