import { readFileSync } from 'node:fs';
import type { WebSocketConstructor } from '../../client/index.js';
import { SecureWebSocket } from '../../client/index.js';
import {
  type CommandSpec,
  formatUsage,
  PROBE_FLAGS,
  type ProbeSpec,
  readCommandLine,
  readProbeSpec,
  TARGET_FLAGS,
  UsageError,
} from '../args.js';
import { escapeJson, escapeTerminal } from '../escape.js';
import { formatLine, withSpinner } from '../output.js';
import { BoundedWebSocket, openProbe, UnreachableError } from '../probe.js';
import {
  authCheck,
  type CheckResult,
  connectionCheck,
  csrfCheck,
  type HealthContext,
  latencyCheck,
  rateLimitCheck,
  reconnectCheck,
  sizeCheck,
  unknownTypeCheck,
} from './checks.js';

export const healthCommand: CommandSpec = {
  usage: 'wsguard health',
  summary:
    'Checks a wsguard WebSocket endpoint: connection, authentication (a valid token accepted, an invalid one\n' +
    'refused), ping/pong latency, automatic reconnection, and security features (CSRF token, 64 KiB limit,\n' +
    'rate limiting, unknown types). Exit code 0 when every check passed, 1 when one failed, 2 when the\n' +
    'server cannot be reached or the command line is wrong.',
  flags: {
    ...TARGET_FLAGS,
    verbose: { type: 'boolean', help: 'Enable verbose output' },
    json: { type: 'boolean', help: 'Print a machine-readable result (JSON) instead of lines' },
    samples: { type: 'string', valueName: 'N', help: 'Ping/pong samples', default: '10' },
    deadline: {
      type: 'string',
      valueName: 'S',
      help: 'Longest the whole run may take, seconds; then it stops and fails',
      default: '60',
    },
    ...PROBE_FLAGS,
    help: { type: 'boolean', help: 'Show help message' },
  },
  examples: [
    'node scripts/test-websocket-health.js',
    'node scripts/test-websocket-health.js --url=wss://example.com/ws --token=your_auth_token',
    'npx wsguard health --json',
  ],
};

export interface HealthResult {
  url: string;
  ok: boolean;
  startedAt: string;
  finishedAt: string;
  checks: CheckResult[];
}

export interface HealthIo {
  out: (line: string) => void;
  err: (line: string) => void;
}

/** Runs every check in order. Rejects with UnreachableError when nothing answers at `url`. */
export async function runHealth(
  ctx: HealthContext,
  onCheck: (c: CheckResult) => void = () => {},
): Promise<HealthResult> {
  const startedAt = new Date().toISOString();
  // Reachability first, so an absent server is one clear line, not nine failures.
  (await openProbe(ctx.url)).close();
  const checks: CheckResult[] = [];
  const add = (c: CheckResult) => {
    // The probe message itself was refused: the check says nothing until it sends one the app accepts.
    if (!c.ok && /WSG_(UNKNOWN_TYPE|VALIDATION_FAILED|INVALID_MESSAGE)/.test(c.detail ?? ''))
      c.detail = `${c.detail}; pass --type and --payload with a message the app accepts`;
    checks.push(c);
    onCheck(c);
  };
  const client = new SecureWebSocket({
    url: ctx.url,
    authToken: ctx.token,
    reconnect: false,
    heartbeat: false,
    debug: false,
    // A server that never acks must not hold one check for the client's default 30 s.
    ackTimeoutMs: 5000,
    WebSocket: BoundedWebSocket as unknown as WebSocketConstructor,
  });
  try {
    add(await withSpinner('connecting', connectionCheck(client)));
    add(await withSpinner('authenticating', authCheck(ctx, client)));
    if (client.state === 'open') {
      add(await withSpinner('pinging', latencyCheck(ctx, client)));
      add(await withSpinner('checking unknown types', unknownTypeCheck(client)));
    }
  } finally {
    client.close();
  }
  add(await withSpinner('dropping the socket', reconnectCheck(ctx)));
  add(await withSpinner('checking CSRF', csrfCheck(ctx)));
  add(await withSpinner('sending 64 KiB', sizeCheck(ctx)));
  add(await withSpinner('sending a burst', rateLimitCheck(ctx)));
  return {
    url: ctx.url,
    ok: checks.every((c) => c.ok),
    startedAt,
    finishedAt: new Date().toISOString(),
    checks,
  };
}

/** `wsguard health` / `node scripts/test-websocket-health.js`. Returns the exit code. */
export async function main(
  argv: readonly string[],
  io: HealthIo = { out: console.log, err: console.error },
): Promise<number> {
  const flags = readCommandLine(healthCommand, argv, io);
  if (typeof flags === 'number') return flags;
  const samples = Number(flags.samples);
  if (!Number.isInteger(samples) || samples < 1 || samples > 1000) {
    io.err(`--samples must be a whole number from 1 to 1000\n\n${formatUsage(healthCommand)}`);
    return 2;
  }
  let probe: ProbeSpec;
  try {
    probe = readProbeSpec(flags, (p) => readFileSync(p, 'utf8'));
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    io.err(`${err.message}\n\n${formatUsage(healthCommand)}`);
    return 2;
  }
  const json = flags.json === true;
  const ctx: HealthContext = {
    url: String(flags.url),
    token: String(flags.token),
    samples,
    echoType: probe.type,
    payload: probe.payload,
    verbose: flags.verbose ? (l) => io.out(`  ${escapeTerminal(l)}`) : () => {},
  };
  const deadlineS = Number(flags.deadline);
  if (!Number.isInteger(deadlineS) || deadlineS < 1 || deadlineS > 3600) {
    io.err(`--deadline must be a whole number of seconds from 1 to 3600\n\n${formatUsage(healthCommand)}`);
    return 2;
  }
  let first = true;
  let timer: NodeJS.Timeout | undefined;
  // A server that never answers must not hold the command: past the deadline it fails with what it has.
  const overdue = new Promise<never>((_r, reject) => {
    timer = setTimeout(() => reject(new DeadlineError(deadlineS)), deadlineS * 1000);
  });
  try {
    const result = await Promise.race([
      overdue,
      runHealth(ctx, (c) => {
        if (json) return;
        if (first) io.out(`wsguard health check: ${ctx.url}\n`);
        first = false;
        io.out(formatLine(c));
        if (flags.verbose && c.data) io.out(`    ${escapeTerminal(JSON.stringify(c.data))}`);
      }),
    ]);
    if (json) io.out(escapeJson(JSON.stringify(result, null, 2)));
    else {
      const failed = result.checks.filter((c) => !c.ok).length;
      io.out(
        `\n${failed === 0 ? 'All checks passed' : `${failed} of ${result.checks.length} checks failed`}.`,
      );
    }
    return result.ok ? 0 : 1;
  } catch (err) {
    if (err instanceof DeadlineError) {
      io.err(`wsguard health: ${err.message}`);
      return 1;
    }
    if (err instanceof UnreachableError || /^HTTP \d+/.test((err as Error).message)) {
      io.err(`wsguard health: ${escapeTerminal((err as Error).message)}`);
      return 2;
    }
    throw err;
  } finally {
    clearTimeout(timer);
  }
}

class DeadlineError extends Error {
  constructor(seconds: number) {
    super(`the checks did not finish within ${seconds} s (--deadline)`);
  }
}
