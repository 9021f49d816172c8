import { z } from 'zod';
import { PROTOCOL_NAMES } from './protocols/types.js';
import { CATEGORIES, RESULTS, SEVERITIES } from './types.js';

/** Version of the report layout; bumped on any incompatible change. */
export const REPORT_SCHEMA_VERSION = 3;

const counts = <T extends readonly [string, ...string[]]>(keys: T) =>
  z
    .object(
      Object.fromEntries(keys.map((k) => [k, z.number().int().nonnegative()])) as Record<
        T[number],
        z.ZodNumber
      >,
    )
    .strict();

export const findingSchema = z
  .object({
    id: z.string().regex(/^[a-z-]+\.[a-z0-9-]+$/),
    title: z.string().min(1),
    category: z.enum(CATEGORIES),
    severity: z.enum(SEVERITIES),
    cwe: z
      .string()
      .regex(/^CWE-\d+$/)
      .nullable(),
    result: z.enum(RESULTS),
    detail: z.string(),
    evidence: z.object({ sent: z.array(z.string()), received: z.array(z.string()) }).strict(),
    remediation: z.string().min(1),
    durationMs: z.number().nonnegative(),
    data: z.record(z.string(), z.union([z.number(), z.string(), z.boolean()])).optional(),
  })
  .strict();

/** The JSON report `wsguard audit` writes (`reports/websocket-security/<timestamp>.json`). */
export const auditReportSchema = z
  .object({
    schemaVersion: z.literal(REPORT_SCHEMA_VERSION),
    tool: z.object({ name: z.literal('wsguard audit'), version: z.string().min(1) }).strict(),
    target: z.object({ url: z.url(), origin: z.string() }).strict(),
    /** The protocol the probes spoke (schema 3). */
    protocol: z
      .object({
        name: z.enum(PROTOCOL_NAMES),
        /** `detected` with --protocol=auto (the default), `forced` otherwise. */
        how: z.enum(['detected', 'forced']),
        /** What decided it (the observation, or `--protocol`). */
        evidence: z.string(),
        /** The URL the probes upgraded (Socket.IO: its Engine.IO WebSocket path). */
        endpoint: z.url(),
      })
      .strict(),
    /** Measured before the first check: the upper bound of the round trip every wait was scaled by. */
    measured: z.object({ rttMs: z.number().nonnegative() }).strict(),
    /** What the run did to the auditor's standing with the server. */
    politeness: z
      .object({
        upgrades: z.number().int().nonnegative(),
        upgradesPerMinute: z.number().int().positive(),
        /** The pace kept at the end of the run: at most `max` upgrades in any `windowMs`. */
        pace: z
          .object({ max: z.number().int().positive(), windowMs: z.number().positive() })
          .strict()
          .optional(),
        /** The upgrade limit the server announced (wsguard: `auth_ok.limits.connectionsPerIp`), or null. */
        announced: z
          .object({ max: z.number().positive(), windowMs: z.number().positive() })
          .strict()
          .nullable()
          .optional(),
        /** Upgrades of the run within the server's window at the end. */
        recentUpgrades: z.number().int().nonnegative().optional(),
        /** The first lockout (429, 403, a block); the run stopped there. */
        lockout: z
          .object({ check: z.string(), detail: z.string(), retryAfterS: z.number().nullable() })
          .strict()
          .nullable(),
        /** rate-limit.escalation ran and got the auditor closed (blocked). */
        escalated: z.boolean(),
      })
      .strict(),
    options: z
      .object({
        full: z.boolean(),
        only: z.array(z.string()).nullable(),
        failOn: z.enum(SEVERITIES),
        bounds: z
          .object({
            timeoutMs: z.number().int().positive(),
            burst: z.number().int().positive(),
            connections: z.number().int().positive(),
            messages: z.number().int().positive(),
            durationMs: z.number().int().positive(),
            authWaitMs: z.number().int().positive(),
          })
          .strict(),
      })
      .strict(),
    startedAt: z.iso.datetime(),
    finishedAt: z.iso.datetime(),
    durationMs: z.number().nonnegative(),
    summary: z
      .object({
        /** Findings (failed or warned checks) per severity. */
        bySeverity: counts(SEVERITIES),
        /** Checks per result. */
        byResult: counts(RESULTS),
        /** Whether a finding at or above `options.failOn` exists (exit code 1). */
        failed: z.boolean(),
      })
      .strict(),
    findings: z.array(findingSchema),
  })
  .strict();

export type AuditReport = z.infer<typeof auditReportSchema>;
