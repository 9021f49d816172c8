import { BOUNDS, safeTimeout } from './bounds.js';
import { AuthError } from './errors.js';
import { readJwtExpiry } from './jwt.js';

/** RFC 7230 token characters: what a `Sec-WebSocket-Protocol` entry may hold. */
const SUBPROTOCOL_SAFE = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const MAX_TOKEN = 8192;

export interface TokenSource {
  /** A token for a connect or a refresh; concurrent calls share one `getToken()` call. */
  get(): Promise<string>;
  /**
   * `token` (the latest `get()` gave) never left the client: the attempt failed before anything
   * was sent. The next `get()` hands it out again instead of calling `getToken()`, so a server
   * that is down (connections refused while it restarts) does not use up the per-minute budget
   * and leave the client waiting out a minute once it is back.
   */
  unspent(token: string): void;
}

/**
 * The token behind `authToken` or `getToken()`. `getToken` is called for every connect and
 * refresh (tokens expire; a cached one would be stale exactly when it matters), but never
 * twice at once: a refresh that starts while a connect waits for a token gets the same one.
 */
export function createTokenSource(options: {
  authToken: string | undefined;
  getToken: (() => string | Promise<string>) | undefined;
  /** The token goes in a subprotocol header, so it must be header-safe. */
  inProtocol: boolean;
  /** Most `getToken()` calls in any minute; a call beyond waits for the oldest to age out. */
  perMinute?: number;
  now?: () => number;
  log?: (message: string, context?: Record<string, unknown>) => void;
}): TokenSource {
  const { authToken, getToken, inProtocol } = options;
  const perMinute = options.perMinute ?? BOUNDS.tokenCallsPerMinute;
  const now = options.now ?? Date.now;
  /** Start times of the latest calls, oldest first, at most `perMinute`. */
  const recent: number[] = [];
  const budget = async () => {
    const oldest = recent.length >= perMinute ? recent[0] : undefined;
    const wait = oldest === undefined ? 0 : oldest + 60_000 - now();
    if (wait > 0) {
      options.log?.('getToken() budget used up: waiting', { waitMs: wait });
      await new Promise<void>((resolve) => safeTimeout(resolve, wait));
    }
    recent.push(now());
    if (recent.length > perMinute) recent.shift();
  };
  const check = (token: unknown): string => {
    if (typeof token !== 'string' || token.length === 0 || token.length > MAX_TOKEN) {
      throw new AuthError(`the token must be a non-empty string of at most ${MAX_TOKEN} characters`);
    }
    if (inProtocol && !SUBPROTOCOL_SAFE.test(token)) {
      throw new AuthError("the token has characters a subprotocol cannot carry: use authTransport 'message'");
    }
    return token;
  };
  if (getToken === undefined) {
    const fixed = authToken;
    return { get: () => Promise.resolve().then(() => check(fixed)), unspent: () => {} };
  }
  let inflight: Promise<string> | undefined;
  /** The latest token `getToken()` gave, and when. */
  let latest: { token: string; at: number } | undefined;
  /** The latest token, returned unused: the next `get()` takes it. */
  let kept: { token: string; at: number } | undefined;
  /** Whether a kept token is still worth presenting (not old, not about to expire). */
  const fresh = (k: { token: string; at: number }) => {
    const t = now();
    if (t - k.at > BOUNDS.unspentTokenMaxAgeMs) return false;
    const exp = readJwtExpiry(k.token);
    return exp === undefined || exp - t > BOUNDS.unspentTokenMaxAgeMs;
  };
  const call = async (): Promise<string> => {
    // Yield first, so that `inflight` is set before a synchronous throw could clear it.
    await undefined;
    try {
      await budget();
      const token = check(await getToken());
      latest = { token, at: now() };
      return token;
    } catch (err) {
      throw err instanceof AuthError ? err : new AuthError('getToken() failed', undefined, { cause: err });
    } finally {
      inflight = undefined;
    }
  };
  return {
    get() {
      const k = kept;
      kept = undefined;
      if (inflight === undefined && k !== undefined && fresh(k)) return Promise.resolve(k.token);
      inflight ??= call();
      return inflight;
    },
    unspent(token) {
      // Only the latest token: an older one may have been replaced for a reason.
      if (latest?.token === token) kept = latest;
    },
  };
}
