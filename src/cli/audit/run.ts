import { connect as netConnect } from 'node:net';
import { packageVersion } from '../../package-root.js';
import { UnreachableError } from '../probe.js';
import { catalogue } from './catalogue.js';
import { oversized } from './checks/transport.js';
import { type AuditBounds, type AuditContext, type AuditManners, DEFAULT_MANNERS } from './context.js';
import { resolvesToLoopback, SkipError, ThrottledError, upgrade } from './net.js';
import { recentUpgrades } from './pacing.js';
import { DETECTION_OFFER, detectSocketIo, detectSocketProtocol } from './protocols/detect.js';
import { appliesTo, type ProtocolChoice, protocolByName } from './protocols/index.js';
import { wsguardProtocol } from './protocols/wsguard.js';
import { type AuditReport, auditReportSchema, REPORT_SCHEMA_VERSION } from './schema.js';
import type { Signer } from './signer.js';
import {
  CATEGORIES,
  type CheckDef,
  type Finding,
  isFinding,
  type Outcome,
  RESULTS,
  SEVERITIES,
  type Severity,
  severityRank,
} from './types.js';

export interface AuditOptions {
  /** The endpoint, `ws://` or `wss://`. */
  url: string;
  /** A valid token; the checks that need a session authenticate with it. */
  token: string;
  /** A valid token of another user; `session.refresh-other-subject` is skipped without it. @default undefined */
  otherToken?: string | undefined;
  /** The legitimate origin. @default the http(s) origin of `url` */
  origin?: string | undefined;
  /** A message type the server handles (CSRF, input and rate-limit checks send it). */
  type: string;
  /** A valid payload of `type`. @default undefined (the checks' own filler payloads) */
  payload?: unknown;
  /** Signs tokens with the server's key for the deep JWT checks. @default undefined (they skip) */
  signer?: Signer | undefined;
  /** Add the performance and stress checks (the caller enforces the loopback rule). */
  full: boolean;
  /** Accept an untrusted TLS certificate (transport.tls still reports it). @default false */
  insecure?: boolean;
  /** Every load's bound; see DEFAULT_BOUNDS. */
  bounds: AuditBounds;
  /** Pacing and budget of upgrades, opt-in penalties. @default DEFAULT_MANNERS */
  manners?: AuditManners | undefined;
  /** Check ids, id prefixes or categories to run. @default undefined (all) */
  only?: string[] | undefined;
  /** `summary.failed` when a finding is at or above this. */
  failOn: Severity;
  /** Where the plan of each check goes before it runs. @default silent */
  verbose?: (line: string) => void;
  /** The protocol the target speaks, or `auto` to detect it. @default 'auto' */
  protocol?: ProtocolChoice | undefined;
}

export interface AuditHooks {
  onStart?: (check: CheckDef<AuditContext>, index: number, total: number) => void;
  /** The protocol the audit speaks, once known (before the first check). */
  onProtocol?: (protocol: AuditReport['protocol']) => void;
  onResult?: (finding: Finding, index: number, total: number) => void;
  /** Wraps each check's run (the command shows a spinner on a TTY). */
  wrap?: <T>(label: string, work: Promise<T>) => Promise<T>;
}

/** The origin a browser page served by the endpoint's own host would send. */
export function defaultOrigin(url: URL): string {
  return `${url.protocol === 'wss:' ? 'https' : 'http'}://${url.host}`;
}

/** The user's bounds with every wait for an answer lengthened by two round trips. */
export function scaledBounds(b: AuditBounds, rttMs: number): AuditBounds {
  return { ...b, timeoutMs: b.timeoutMs + 2 * rttMs };
}

/** The longest one check may wait for answers: far above any healthy run, so only a stalling server meets it. */
export const checkTimeLimit = (b: AuditBounds) => Math.max(30_000, b.durationMs + 10 * b.timeoutMs);

const selected = (check: CheckDef<AuditContext>, only: string[] | undefined) =>
  !only ||
  only.some(
    (o) => check.id === o || check.category === o || check.id.startsWith(o.endsWith('.') ? o : `${o}.`),
  );

async function runOne(ctx: AuditContext, check: CheckDef<AuditContext>): Promise<Finding> {
  ctx.current = check.id;
  ctx.verbose(`${check.id}: ${check.plan}`);
  const start = performance.now();
  ctx.deadline = start + checkTimeLimit(ctx.bounds);
  let outcome: Outcome;
  const limitMs = checkTimeLimit(ctx.bounds);
  let timer: NodeJS.Timeout | undefined;
  // Every wait inside a check is bounded, but a check must never hang the audit even if one is not.
  const overdue = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(
      () => reject(new Error(`the check did not finish within ${limitMs} ms`)),
      // Plus the longest pacing wait of one upgrade (a minute), which is the auditor's own doing.
      limitMs + 5000 + 61_000,
    );
  });
  try {
    outcome = await Promise.race([check.run(ctx), overdue]);
  } catch (err) {
    const message = (err as Error).message.split('\n')[0] ?? 'failed';
    if (err instanceof ThrottledError)
      ctx.lockout ??= { check: check.id, detail: message, retryAfterS: err.retryAfterS };
    outcome =
      err instanceof SkipError || err instanceof ThrottledError
        ? { result: 'skip', detail: message }
        : { result: 'error', detail: message };
  } finally {
    clearTimeout(timer);
  }
  return {
    id: check.id,
    title: check.title,
    category: check.category,
    severity: outcome.severity ?? check.severity,
    cwe: check.cwe,
    result: outcome.result,
    detail: outcome.detail,
    evidence: { sent: outcome.evidence?.sent ?? [], received: outcome.evidence?.received ?? [] },
    remediation: check.remediation,
    durationMs: Math.round((performance.now() - start) * 10) / 10,
    ...(outcome.data ? { data: outcome.data } : {}),
  };
}

const UNREACHABLE =
  /cannot reach|no complete answer|ECONNRESET|ECONNREFUSED|socket hang up|closed 1006|did not finish/;

/** Whether anything accepts a TCP connection at the target's host and port within `timeoutMs`. */
function answersTcp(target: URL, timeoutMs: number): Promise<boolean> {
  const port = Number(target.port || (target.protocol === 'wss:' ? 443 : 80));
  return new Promise((resolve) => {
    const s = netConnect({ host: target.hostname.replace(/^\[|\]$/g, ''), port });
    const done = (ok: boolean) => {
      clearTimeout(timer);
      s.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

function availabilityFinding(last: string, detail: string): Finding {
  return {
    id: 'availability.target-down',
    title: 'The target stopped answering during the audit',
    category: 'availability',
    severity: 'high',
    cwe: 'CWE-400',
    result: 'fail',
    detail: `the target stopped answering during ${last} (the last check run); the checks after it were not run`,
    evidence: {
      sent: [`the probes of ${last}`],
      received: [detail, 'no TCP connection accepted afterwards'],
    },
    remediation:
      'Find what the last check sent (--verbose shows it) and make the server survive it: bounded parsing, a try/catch around handlers, a supervisor that restarts it.',
    durationMs: 0,
  };
}

function notRun(check: CheckDef<AuditContext>, detail: string, result: 'skip' | 'n/a' = 'skip'): Finding {
  return {
    id: check.id,
    title: check.title,
    category: check.category,
    severity: check.severity,
    cwe: check.cwe,
    result,
    detail,
    evidence: { sent: [], received: [] },
    remediation: check.remediation,
    durationMs: 0,
  };
}

/** The closing line: may the auditor's address now be limited, and for how long? */
export function limitedLine(p: AuditReport['politeness']): string {
  if (p.lockout)
    return `Your address may now be limited: the server refused the auditor during ${p.lockout.check}${p.lockout.retryAfterS === null ? ' (it did not say for how long; wsguard blocks 30 s to 15 min)' : ` and asked it to wait ${p.lockout.retryAfterS} s`}.`;
  if (p.escalated)
    return "Your address may now be blocked for the server's block time (rate-limit.escalation ran; wsguard: 30 s by default).";
  const a = p.announced;
  if (a && p.pace && p.recentUpgrades !== undefined) {
    const left = Math.max(0, a.max - p.recentUpgrades);
    return `No sign that the server limited your address (${p.upgrades} upgrades, at most ${p.pace.max} per ${p.pace.windowMs / 1000} s under its announced ${a.max} per ${a.windowMs / 1000} s; ${left} ${left === 1 ? 'upgrade is' : 'upgrades are'} left to other clients on this address for up to ${a.windowMs / 1000} s).`;
  }
  return `No sign that the server limited your address (${p.upgrades} upgrades, at most ${p.upgradesPerMinute} a minute).`;
}

/** Counts findings per severity and checks per result; `failed` when a finding reaches `failOn`. */
export function summarize(findings: readonly Finding[], failOn: Severity): AuditReport['summary'] {
  const bySeverity = Object.fromEntries(SEVERITIES.map((s) => [s, 0])) as Record<Severity, number>;
  const byResult = Object.fromEntries(RESULTS.map((r) => [r, 0])) as AuditReport['summary']['byResult'];
  for (const f of findings) {
    byResult[f.result]++;
    if (isFinding(f)) bySeverity[f.severity]++;
  }
  const failed = findings.some((f) => isFinding(f) && severityRank(f.severity) >= severityRank(failOn));
  return { bySeverity, byResult, failed };
}

/**
 * Runs the audit. The first upgrade doubles as the reachability check: nothing answering
 * rejects with UnreachableError (one readable line), before any check runs.
 */
export async function runAudit(options: AuditOptions, hooks: AuditHooks = {}): Promise<AuditReport> {
  const target = new URL(options.url);
  const manners = options.manners ?? DEFAULT_MANNERS;
  const ctx: AuditContext = {
    url: options.url,
    target,
    token: options.token,
    otherToken: options.otherToken,
    origin: options.origin ?? defaultOrigin(target),
    type: options.type,
    payload: options.payload,
    signer: options.signer,
    full: options.full,
    insecure: options.insecure ?? false,
    bounds: options.bounds,
    verbose: options.verbose ?? (() => {}),
    seen: [],
    upgrades: {
      times: [],
      total: 0,
      max: manners.upgradesPerMinute,
      windowMs: 60_000,
      budget: manners.budget,
      follow: manners.followAnnounced,
    },
    lockout: undefined,
    escalate: manners.escalate,
    oversized: [],
    loopback: await resolvesToLoopback(target.hostname),
    rttMs: 0,
    noAuth: false,
    authOk: undefined,
    current: 'preflight',
    deadline: Number.POSITIVE_INFINITY,
    memo: new Map(),
    protocol: wsguardProtocol,
    pending: new Map(),
    cleanup: [],
  };
  const startedAt = new Date();
  // --- protocol: forced, or detected in two bounded steps around the preflight ---
  const choice = options.protocol ?? 'auto';
  ctx.current = 'protocol detection';
  let detection =
    choice === 'auto'
      ? await detectSocketIo(ctx)
      : { protocol: protocolByName(choice), evidence: '--protocol' };
  if (detection) ctx.protocol = detection.protocol;
  ctx.target = ctx.protocol.endpoint(target);
  ctx.url = ctx.target.href;
  ctx.current = 'preflight';
  ctx.verbose(`preflight: one upgrade to ${ctx.url} offering permessage-deflate`);
  const t0 = performance.now();
  const pre = await upgrade(ctx, {
    Origin: ctx.origin,
    'Sec-WebSocket-Extensions': 'permessage-deflate; client_max_window_bits',
    ...(detection ? {} : DETECTION_OFFER),
  });
  if (pre.status === 404) throw new UnreachableError(`no WebSocket endpoint at ${options.url} (HTTP 404)`);
  ctx.preflight = { status: pre.status, headers: pre.headers };
  // One upgrade is a connect plus a request: an upper bound of the round trip, which is the safe side
  // for every wait scaled by it (a slow link must not look like a silent server).
  ctx.rttMs = Math.min(5000, Math.max(1, Math.round(performance.now() - t0)));
  ctx.bounds = scaledBounds(options.bounds, ctx.rttMs);
  ctx.verbose(`round trip ≤ ${ctx.rttMs} ms: answers awaited ${ctx.bounds.timeoutMs} ms`);
  if (!detection) {
    ctx.current = 'protocol detection';
    detection = await detectSocketProtocol(ctx, pre);
    ctx.protocol = detection.protocol;
  }
  const protocol = {
    name: ctx.protocol.name,
    how: choice === 'auto' ? ('detected' as const) : ('forced' as const),
    evidence: detection.evidence,
    endpoint: ctx.url,
  };
  ctx.verbose(`protocol: ${protocol.name} (${protocol.how}: ${protocol.evidence})`);
  hooks.onProtocol?.(protocol);
  // --- end protocol ---

  const checks = catalogue(options.full).filter((c) => selected(c, options.only));
  const findings: Finding[] = [];
  let down: string | undefined;
  try {
    for (const [i, check] of checks.entries()) {
      hooks.onStart?.(check, i, checks.length);
      // Locked out: hammering on would only lengthen the block; the rest is reported as not run.
      const lockout = ctx.lockout;
      const f = down
        ? notRun(check, `not run: the target stopped answering after ${down}`)
        : !appliesTo(ctx.protocol, check.id)
          ? notRun(check, `n/a: a wsguard-only check; the target speaks ${ctx.protocol.name}`, 'n/a')
          : lockout
            ? notRun(check, `not run: the server locked the auditor out during ${lockout.check}`)
            : await (hooks.wrap ?? ((_l, w) => w))(check.id, runOne(ctx, check));
      findings.push(f);
      hooks.onResult?.(f, i, checks.length);
      // A check that could not reach the target: is the target still there at all?
      if (!down && UNREACHABLE.test(`${f.detail} ${f.evidence.received.join(' ')}`)) {
        if (!(await answersTcp(ctx.target, ctx.bounds.timeoutMs))) {
          down = check.id;
          const a = availabilityFinding(check.id, f.detail);
          findings.push(a);
          hooks.onResult?.(a, i, checks.length);
        }
      }
    }
    // Oversized answers are reported even when --only left their check out.
    if (ctx.oversized.length > 0 && !checks.includes(oversized)) findings.push(await runOne(ctx, oversized));
  } finally {
    for (const close of ctx.cleanup) close();
  }
  const order = (f: Finding) => CATEGORIES.indexOf(f.category);
  const sorted = findings.map((f, i) => ({ f, i })).sort((a, b) => order(a.f) - order(b.f) || a.i - b.i);
  const finishedAt = new Date();
  return auditReportSchema.parse({
    schemaVersion: REPORT_SCHEMA_VERSION,
    tool: { name: 'wsguard audit', version: packageVersion() },
    target: { url: options.url, origin: ctx.origin },
    protocol,
    measured: { rttMs: ctx.rttMs },
    politeness: {
      upgrades: ctx.upgrades.total,
      upgradesPerMinute: Math.max(1, Math.floor((ctx.upgrades.max * 60_000) / ctx.upgrades.windowMs)),
      pace: { max: ctx.upgrades.max, windowMs: ctx.upgrades.windowMs },
      announced: ctx.upgrades.announced ?? null,
      recentUpgrades: recentUpgrades(ctx),
      lockout: ctx.lockout ? { ...ctx.lockout, retryAfterS: ctx.lockout.retryAfterS ?? null } : null,
      escalated: ctx.memo.get('rate-limit.escalated') === true,
    },
    options: {
      full: options.full,
      only: options.only ?? null,
      failOn: options.failOn,
      bounds: options.bounds,
    },
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    durationMs: finishedAt.getTime() - startedAt.getTime(),
    summary: summarize(findings, options.failOn),
    findings: sorted.map((s) => s.f),
  });
}
