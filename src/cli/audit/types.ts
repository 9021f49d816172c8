/** How bad a weakness is when its check fails, lowest first. */
export const SEVERITIES = ['info', 'low', 'medium', 'high', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

/**
 * pass: no weakness; fail: the weakness is there; warn: suspicious or inconclusive; skip: not
 * possible here (needs a flag, an answer the server did not give); n/a: a wsguard-only check
 * against a server speaking another protocol; error: the check itself broke.
 */
export const RESULTS = ['pass', 'fail', 'warn', 'skip', 'n/a', 'error'] as const;
export type Result = (typeof RESULTS)[number];

/** Report order of the categories. */
export const CATEGORIES = [
  'transport',
  'authentication',
  'origin',
  'csrf',
  'rate-limit',
  'input',
  'errors',
  'session',
  'monitoring',
  'performance',
  'stress',
  'availability',
] as const;
export type Category = (typeof CATEGORIES)[number];

/** What the check sent and what came back, as short printable lines. */
export interface Evidence {
  sent: string[];
  received: string[];
}

/** What a check's run returns. */
export interface Outcome {
  result: Result;
  /** One line saying what was observed. */
  detail: string;
  evidence?: Partial<Evidence>;
  /** Overrides the check's severity for this outcome (e.g. a softer `warn`). */
  severity?: Severity;
  /** Measurements (performance checks). */
  data?: Record<string, number | string | boolean>;
}

/** One check in the catalogue: a weakness to look for, and how to look. */
export interface CheckDef<C = unknown> {
  id: string;
  title: string;
  category: Category;
  /** Severity of the weakness when the check fails. */
  severity: Severity;
  /** e.g. `CWE-306`, or null when no CWE fits. */
  cwe: string | null;
  remediation: string;
  /** What the check is about to send (printed with --verbose before it runs). */
  plan: string;
  run(ctx: C): Promise<Outcome>;
}

/** A check's result as it goes into the report. */
export interface Finding {
  id: string;
  title: string;
  category: Category;
  severity: Severity;
  cwe: string | null;
  result: Result;
  detail: string;
  evidence: Evidence;
  remediation: string;
  durationMs: number;
  data?: Record<string, number | string | boolean>;
}

/** A finding counts against `--fail-on` when it failed or warned. */
export const isFinding = (f: Pick<Finding, 'result'>) => f.result === 'fail' || f.result === 'warn';

export const severityRank = (s: Severity) => SEVERITIES.indexOf(s);
