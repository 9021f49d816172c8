import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  type CommandIo,
  type CommandSpec,
  formatUsage,
  PROBE_FLAGS,
  type ProbeSpec,
  readCommandLine,
  readProbeSpec,
  TARGET_FLAGS,
} from '../args.js';
import { escapeTerminal } from '../escape.js';
import { formatLine, paint, withSpinner } from '../output.js';
import { UnreachableError } from '../probe.js';
import { ALL_CHECKS } from './catalogue.js';
import { type AuditBounds, type AuditManners, DEFAULT_MANNERS } from './context.js';
import { resolvesToLoopback } from './net.js';
import { isProtocolChoice, PROTOCOL_CHOICES } from './protocols/index.js';
import { writeReports } from './report.js';
import { defaultOrigin, limitedLine, runAudit } from './run.js';
import { type Signer, signerFrom } from './signer.js';
import { type Finding, isFinding, type Result, SEVERITIES, type Severity } from './types.js';

export { type AuditBounds, DEFAULT_BOUNDS } from './context.js';
export { renderMarkdown, writeReports } from './report.js';
export { type AuditOptions, runAudit } from './run.js';
export { toSarif } from './sarif.js';
export { type AuditReport, auditReportSchema } from './schema.js';

export const auditCommand: CommandSpec = {
  usage: 'wsguard audit',
  summary:
    'Audits a WebSocket endpoint for security weaknesses: transport, authentication, origin (CSWSH), CSRF,\n' +
    'rate limiting, input validation, error handling, sessions and monitoring; --full adds bounded\n' +
    'performance and stress tests. Speaks wsguard, Socket.IO, graphql-ws or plain WebSocket (--protocol,\n' +
    'detected by default); checks that only make sense for wsguard are n/a against the others. Writes a\n' +
    'JSON and a Markdown report. Exit code 0 when no finding is at or above --fail-on, 1 when one is, 2\n' +
    'when the server cannot be reached or the command line is wrong.\n' +
    'Only audit servers you own: the checks send forged tokens and origins and trip rate limits.',
  flags: {
    ...TARGET_FLAGS,
    verbose: { type: 'boolean', help: 'Enable verbose output (says what each check is about to send)' },
    full: { type: 'boolean', help: 'Perform full audit including performance and stress tests' },
    out: {
      type: 'string',
      valueName: 'DIR',
      help: 'Directory for the reports',
      default: 'reports/websocket-security',
    },
    sarif: { type: 'boolean', help: 'Also write a SARIF 2.1.0 report (code-scanning dashboards)' },
    'fail-on': {
      type: 'string',
      valueName: 'SEVERITY',
      help: `Exit 1 on a finding at or above this: ${SEVERITIES.join(', ')}`,
      default: 'high',
    },
    origin: {
      type: 'string',
      valueName: 'ORIGIN',
      help: 'The legitimate browser origin (default: the http(s) origin of --url)',
    },
    'other-token': {
      type: 'string',
      valueName: 'TOKEN',
      help: 'A valid token of another user (refresh check; skipped without it)',
    },
    ...PROBE_FLAGS,
    secret: {
      type: 'string',
      valueName: 'SECRET',
      help: 'The HS256 secret the server verifies tokens with (signed-token JWT checks; skipped without it)',
    },
    'private-key': {
      type: 'string',
      valueName: 'FILE',
      help: 'A PEM private key (RSA, EC P-256, Ed25519) the server trusts: the JWT checks, algorithm confusion included',
    },
    only: {
      type: 'string',
      valueName: 'LIST',
      help: 'Run only these categories or check ids, comma-separated (e.g. origin,input.binary)',
    },
    timeout: { type: 'string', valueName: 'MS', help: 'Wait for one answer', default: '2000' },
    burst: { type: 'string', valueName: 'N', help: 'Most messages in one rate-limit burst', default: '300' },
    connections: {
      type: 'string',
      valueName: 'N',
      help: 'Most sockets the connection flood opens (--full)',
      default: '50',
    },
    messages: {
      type: 'string',
      valueName: 'N',
      help: 'Most messages per performance/flood check (--full)',
      default: '500',
    },
    duration: { type: 'string', valueName: 'S', help: 'Longest timed load, seconds (--full)', default: '5' },
    'auth-wait': {
      type: 'string',
      valueName: 'S',
      help: 'Longest wait for the auth timeout, seconds',
      default: '10',
    },
    'upgrades-per-minute': {
      type: 'string',
      valueName: 'N',
      help: "Most upgrades in any minute; auto: 24 until the server announces its limit (wsguard's auth_ok), then just under it",
      default: 'auto',
    },
    budget: { type: 'string', valueName: 'N', help: 'Most upgrades in the whole run', default: '150' },
    escalate: {
      type: 'boolean',
      help: 'Run rate-limit.escalation, which gets your address blocked on a defended server',
    },
    protocol: {
      type: 'string',
      valueName: 'NAME',
      help: `The protocol the endpoint speaks: ${PROTOCOL_CHOICES.join(', ')} (auto detects it; wsguard-only checks are n/a for the others)`,
      default: 'auto',
    },
    'i-own-this-host': { type: 'boolean', help: 'Allow --full against a host that is not loopback' },
    insecure: { type: 'boolean', help: 'Accept an untrusted wss:// certificate (still reported)' },
    help: { type: 'boolean', help: 'Show help message' },
  },
  examples: [
    'node scripts/websocket-security-audit.js',
    'node scripts/websocket-security-audit.js --url=wss://example.com/ws --token=your_auth_token',
    'npx wsguard audit --full --fail-on=medium --out=audit-reports',
  ],
};

const MARKS: Record<Result, () => string> = {
  pass: () => paint(32, '✔'),
  fail: () => paint(31, '✖'),
  warn: () => paint(33, '!'),
  skip: () => paint(90, '-'),
  'n/a': () => paint(90, '·'),
  error: () => paint(35, '?'),
};

/** The console line of one finding: mark, id, time, severity when it is a finding, detail. */
export function formatFinding(f: Finding): string {
  return formatLine({
    name: f.id,
    ok: f.result === 'pass',
    mark: MARKS[f.result](),
    ms: f.durationMs,
    detail: `${isFinding(f) ? `[${f.severity}] ` : ''}${f.detail}`,
  });
}

class FlagError extends Error {}

function int(flags: Record<string, unknown>, name: string, min: number, max: number): number {
  const v = Number(flags[name]);
  if (!Number.isInteger(v) || v < min || v > max)
    throw new FlagError(`--${name} must be a whole number from ${min} to ${max}`);
  return v;
}

/** `wsguard audit` / `node scripts/websocket-security-audit.js`. Returns the exit code. */
export async function main(
  argv: readonly string[],
  io: CommandIo = { out: console.log, err: console.error },
): Promise<number> {
  const flags = readCommandLine(auditCommand, argv, io);
  if (typeof flags === 'number') return flags;
  let bounds: AuditBounds;
  let manners: AuditManners;
  let url: URL;
  let origin: string;
  let probe: ProbeSpec;
  let signer: Signer | undefined;
  const failOn = String(flags['fail-on']) as Severity;
  const protocol = String(flags.protocol);
  try {
    if (!isProtocolChoice(protocol))
      throw new FlagError(`--protocol must be one of ${PROTOCOL_CHOICES.join(', ')}`);
    try {
      url = new URL(String(flags.url));
    } catch {
      throw new FlagError(`--url is not a URL: ${String(flags.url)}`);
    }
    if (url.protocol !== 'ws:' && url.protocol !== 'wss:')
      throw new FlagError('--url must start with ws:// or wss://');
    if (!SEVERITIES.includes(failOn))
      throw new FlagError(`--fail-on must be one of ${SEVERITIES.join(', ')}`);
    origin = flags.origin === undefined ? defaultOrigin(url) : String(flags.origin);
    try {
      new URL(origin);
    } catch {
      throw new FlagError(`--origin is not an origin: ${origin}`);
    }
    if (flags.only !== undefined) {
      const known = new Set(ALL_CHECKS.flatMap((c) => [c.id, c.category, c.id.split('.')[0] ?? '']));
      const unknown = String(flags.only)
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s && !known.has(s));
      if (unknown.length) throw new FlagError(`--only names no check or category: ${unknown.join(', ')}`);
    }
    try {
      probe = readProbeSpec(flags, (p) => readFileSync(p, 'utf8'));
      signer = signerFrom({
        secret: flags.secret === undefined ? undefined : String(flags.secret),
        privateKeyFile: flags['private-key'] === undefined ? undefined : String(flags['private-key']),
      });
    } catch (err) {
      throw new FlagError((err as Error).message);
    }
    bounds = {
      timeoutMs: int(flags, 'timeout', 100, 60_000),
      burst: int(flags, 'burst', 1, 5000),
      connections: int(flags, 'connections', 1, 1000),
      messages: int(flags, 'messages', 1, 20_000),
      durationMs: int(flags, 'duration', 1, 120) * 1000,
      authWaitMs: int(flags, 'auth-wait', 1, 120) * 1000,
    };
    const auto = flags['upgrades-per-minute'] === 'auto';
    manners = {
      upgradesPerMinute: auto
        ? DEFAULT_MANNERS.upgradesPerMinute
        : int(flags, 'upgrades-per-minute', 1, 10_000),
      followAnnounced: auto,
      budget: int(flags, 'budget', 1, 100_000),
      escalate: flags.escalate === true,
    };
  } catch (err) {
    if (!(err instanceof FlagError)) throw err;
    io.err(`${err.message}\n\n${formatUsage(auditCommand)}`);
    return 2;
  }
  if (flags.full && !flags['i-own-this-host'] && !(await resolvesToLoopback(url.hostname))) {
    io.err(
      `wsguard audit: refusing --full against ${url.hostname}, which does not resolve to loopback addresses only; pass --i-own-this-host if you own it`,
    );
    return 2;
  }
  const verbose = flags.verbose === true;
  if (verbose) {
    io.out(
      `bounds: answers ${bounds.timeoutMs} ms, bursts ≤ ${bounds.burst} messages` +
        (flags.full
          ? `, flood ≤ ${bounds.connections} sockets and ≤ ${bounds.messages} messages, timed loads ≤ ${bounds.durationMs / 1000} s`
          : ''),
    );
  }
  let spoken = '';
  try {
    const report = await runAudit(
      {
        url: url.href,
        token: String(flags.token),
        otherToken: flags['other-token'] === undefined ? probe.otherToken : String(flags['other-token']),
        origin,
        type: probe.type,
        payload: probe.payload,
        signer,
        full: flags.full === true,
        insecure: flags.insecure === true,
        bounds,
        manners,
        only:
          flags.only === undefined
            ? undefined
            : String(flags.only)
                .split(',')
                .map((s) => s.trim())
                .filter(Boolean),
        failOn,
        protocol,
        ...(verbose ? { verbose: (l: string) => io.out(`  → ${l}`) } : {}),
      },
      {
        onProtocol: (p) => {
          spoken = `${p.name} (${p.how}: ${escapeTerminal(p.evidence)})`;
        },
        onStart: (_c, i, n) => {
          if (i === 0) io.out(`wsguard security audit: ${url.href} (${n} checks)\nprotocol: ${spoken}\n`);
        },
        wrap: withSpinner,
        onResult: (f, i, n) => {
          io.out(`${String(i + 1).padStart(String(n).length)}/${n} ${formatFinding(f)}`);
          if (verbose)
            for (const line of [
              ...f.evidence.sent.map((l) => `> ${l}`),
              ...f.evidence.received.map((l) => `< ${l}`),
            ])
              io.out(`      ${escapeTerminal(line)}`);
        },
      },
    );
    const paths = await writeReports(report, resolve(String(flags.out)), { sarif: flags.sarif === true });
    const s = report.summary;
    io.out(
      `\nFindings: ${[...SEVERITIES]
        .reverse()
        .map((sev) => `${s.bySeverity[sev]} ${sev}`)
        .join(
          ', ',
        )} (checks: ${s.byResult.pass} passed, ${s.byResult.fail} failed, ${s.byResult.warn} warned, ${s.byResult.skip} skipped, ${s.byResult['n/a']} n/a, ${s.byResult.error} errors)`,
    );
    io.out(`Reports: ${[paths.json, paths.md, ...(paths.sarif ? [paths.sarif] : [])].join('\n         ')}`);
    io.out(
      s.failed ? `Failed: a finding at or above ${failOn}.` : `Passed: no finding at or above ${failOn}.`,
    );
    io.out(limitedLine(report.politeness));
    return s.failed ? 1 : 0;
  } catch (err) {
    if (err instanceof UnreachableError) {
      io.err(`wsguard audit: ${err.message}`);
      return 2;
    }
    throw err;
  }
}
