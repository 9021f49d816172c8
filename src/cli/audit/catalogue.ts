import { authenticationChecks, lateAuthenticationChecks } from './checks/authentication.js';
import { csrfChecks } from './checks/csrf.js';
import { dashboardChecks } from './checks/dashboard.js';
import { deflateUnbounded } from './checks/deflate.js';
import { errorChecks } from './checks/errors.js';
import { outlivesToken } from './checks/expiry.js';
import { inputChecks } from './checks/input.js';
import { jwtChecks } from './checks/jwt.js';
import { monitoringChecks } from './checks/monitoring.js';
import { originChecks } from './checks/origin.js';
import { performanceChecks } from './checks/performance.js';
import { rateLimitChecks } from './checks/rate-limit.js';
import { sessionChecks } from './checks/session.js';
import { stressChecks } from './checks/stress.js';
import { queryTokenEcho } from './checks/token-echo.js';
import { closingTransportChecks, transportChecks } from './checks/transport.js';
import type { AuditContext } from './context.js';
import type { CheckDef } from './types.js';

/**
 * Every check, in run order. The order matters against a defended server: the rate-limit
 * checks trip penalties (a block of the auditor), so they run after everything that needs a
 * fresh connection except the stress checks, and the auth-timeout check waits at the very end
 * for the silent socket opened early on.
 */
export function catalogue(full: boolean): CheckDef<AuditContext>[] {
  return [
    ...transportChecks,
    ...authenticationChecks,
    queryTokenEcho,
    ...jwtChecks,
    ...originChecks,
    ...csrfChecks,
    ...inputChecks,
    deflateUnbounded,
    ...errorChecks,
    ...sessionChecks,
    outlivesToken,
    ...monitoringChecks,
    ...dashboardChecks,
    ...(full ? performanceChecks : []),
    ...rateLimitChecks,
    ...(full ? stressChecks : []),
    ...lateAuthenticationChecks,
    ...closingTransportChecks,
  ];
}

/** Every check id (for --only and the docs test). */
export const ALL_CHECKS = catalogue(true);
