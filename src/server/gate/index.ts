import type { ErrorCode } from '../../protocol/index.js';
import type { TokenVerifier } from '../auth/verifier.js';
import type { Principal } from '../connection/state.js';
import type { UpgradeRequest } from '../socket.js';
import { extractUpgradeToken, type TokenSource } from './token.js';

/** A refusal at the gate: the error code decides the HTTP status. */
export interface GateRejection {
  code: ErrorCode;
  retryAfterMs?: number;
  /** For the log only. */
  detail?: string;
}

/** One check at the gate; returns a rejection or undefined to pass. */
export type GateCheck = (
  req: UpgradeRequest,
  ip: string,
) => GateRejection | undefined | Promise<GateRejection | undefined>;

export type GateDecision =
  | { ok: true; ip: string; principal?: Principal; token?: string; tokenSource?: TokenSource }
  | { ok: false; ip: string; rejection: GateRejection };

export interface GateOptions {
  clientIp: (req: UpgradeRequest) => string;
  /** Checks in order, before the token is looked at. */
  checks: GateCheck[];
  verifier: TokenVerifier;
  allowQueryToken: boolean;
  /** Runs after a token sent with the upgrade is refused (brute-force counting hooks in here). */
  onAuthFailure?: (
    req: UpgradeRequest,
    ip: string,
  ) => GateRejection | undefined | Promise<GateRejection | undefined>;
}

/** The upgrade gate: everything decided before a socket exists, answered with plain HTTP. */
export function createGate(options: GateOptions): (req: UpgradeRequest) => Promise<GateDecision> {
  const { clientIp, checks, verifier, allowQueryToken, onAuthFailure } = options;
  return async (req) => {
    const ip = clientIp(req);
    for (const check of checks) {
      const rejection = await check(req, ip);
      if (rejection) return { ok: false, ip, rejection };
    }
    const found = extractUpgradeToken(req, allowQueryToken);
    if (!found) return { ok: true, ip };
    const principal = await verifier(found.token, req);
    if (!principal) {
      const extra = await onAuthFailure?.(req, ip);
      return {
        ok: false,
        ip,
        rejection: extra ?? { code: 'WSG_AUTH_FAILED', detail: `token via ${found.source}` },
      };
    }
    return { ok: true, ip, principal, token: found.token, tokenSource: found.source };
  };
}
