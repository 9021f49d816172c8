import type { TokenVerifier } from './auth/verifier.js';
import type { ResolvedConfig } from './config.js';
import { WsgError } from './errors.js';
import type { EventBus } from './events.js';
import { createProxyTrust } from './gate/client-ip.js';
import { checkHeaders } from './gate/headers.js';
import { createGate, type GateDecision, type GateRejection } from './gate/index.js';
import { createOriginCheck } from './gate/origin.js';
import { createTlsCheck } from './gate/tls.js';
import type { Protection } from './protection.js';
import type { SessionManager } from './session/sessions.js';
import type { UpgradeRequest } from './socket.js';

export interface AdmissionOptions {
  config: Pick<
    ResolvedConfig,
    | 'allowQueryToken'
    | 'allowedOrigins'
    | 'allowedHosts'
    | 'requireOrigin'
    | 'requireTls'
    | 'trustProxy'
    | 'authTimeoutMs'
  >;
  /** The security log, for the one warning about junk X-Forwarded-For entries. */
  events: Pick<EventBus, 'emit'>;
  verifier: TokenVerifier;
  protection: Protection;
  sessions: Pick<SessionManager, 'revoked'>;
  /** True once shutdown started: every upgrade is refused 503. */
  closing: () => boolean;
  /** Every refusal, for the log and stats (rejections.ts). */
  onRejected(ip: string, rejection: GateRejection): void;
}

/**
 * Decides an upgrade request before any socket exists; a refusal carries the code whose
 * registry entry gives the HTTP status. In order: shutting down, bans, blocks and attempt and
 * concurrency limits (limits/gate-checks.ts), headers, TLS, Origin; then a token sent with the
 * upgrade is verified, and its user checked for blocks and revocation.
 */
export function createAdmission(o: AdmissionOptions): (req: UpgradeRequest) => Promise<GateDecision> {
  const { config, protection, sessions } = o;
  const proxies = createProxyTrust([...config.trustProxy], (hop) =>
    o.events.emit({
      event: 'proxy.invalid_hop',
      level: 'warn',
      detail: `X-Forwarded-For entry skipped: ${hop}`,
    }),
  );
  const originOk = createOriginCheck({
    allowedOrigins: config.allowedOrigins,
    requireOrigin: config.requireOrigin,
    allowedHosts: config.allowedHosts,
    proxies,
  });
  const tlsOk = createTlsCheck(config.requireTls, proxies);
  const gate = createGate({
    clientIp: (req) => proxies.clientIp(req),
    verifier: o.verifier,
    allowQueryToken: config.allowQueryToken,
    onAuthFailure: (_req, ip) => {
      protection.authFailed(ip);
      return undefined;
    },
    checks: [
      () => (o.closing() ? { code: 'WSG_OVERLOADED', detail: 'shutting down' } : undefined),
      ...protection.gateChecks,
      (req) => (checkHeaders(req) ? undefined : { code: 'WSG_BAD_REQUEST' }),
      (req) => (tlsOk(req) ? undefined : { code: 'WSG_TLS_REQUIRED' }),
      (req) =>
        originOk(req) ? undefined : { code: 'WSG_ORIGIN_FORBIDDEN', detail: String(req.headers.origin) },
    ],
  });

  const decide = async (req: UpgradeRequest): Promise<GateDecision> => {
    const decision = await gate(req);
    if (!decision.ok || !decision.principal) return decision;
    const refused =
      (await protection.admitUser(decision.principal.id)) ??
      ((await sessions.revoked(decision.principal)) ? { code: 'WSG_SESSION_REVOKED' as const } : undefined);
    return refused ? { ok: false, ip: decision.ip, rejection: refused } : decision;
  };

  const refuse = (req: UpgradeRequest, detail: string): GateDecision => ({
    ok: false,
    ip: proxies.clientIp(req),
    rejection: { code: 'WSG_OVERLOADED', detail },
  });

  /**
   * The gate's checks (a slow verifier, a stalled store) may not hold the upgrade's socket
   * longer than a client may take to authenticate: past that it is refused 503.
   */
  const withinAuthTimeout = (decided: Promise<GateDecision>, req: UpgradeRequest) =>
    new Promise<GateDecision>((resolve) => {
      const ms = config.authTimeoutMs;
      const timer = setTimeout(() => resolve(refuse(req, `upgrade not decided within ${ms} ms`)), ms);
      timer.unref?.();
      decided.then(
        (d) => {
          clearTimeout(timer);
          resolve(d);
        },
        (err: unknown) => {
          clearTimeout(timer);
          // Only the store can fail here (fail mode 'closed'): without shared state, no one gets in.
          resolve(refuse(req, err instanceof WsgError ? String(err.detail) : String(err)));
        },
      );
    });

  return async (req) => {
    const decision = await withinAuthTimeout(decide(req), req);
    if (!decision.ok) o.onRejected(decision.ip, decision.rejection);
    return decision;
  };
}
