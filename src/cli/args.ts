import { parseArgs } from 'node:util';

/** A flag of a command: its type, default and the help line. */
export interface FlagSpec {
  type: 'boolean' | 'string';
  help: string;
  /** Shown in usage as `--name=<valueName>`. */
  valueName?: string;
  default?: string | boolean;
}

/** The target flags every command that talks to an endpoint takes, with the defaults of the scripts in scripts/. */
export const TARGET_FLAGS = {
  url: { type: 'string', valueName: 'URL', help: 'WebSocket server URL', default: 'ws://localhost:3000/ws' },
  token: { type: 'string', valueName: 'TOKEN', help: 'Authentication token', default: 'test_token' },
} satisfies Record<string, FlagSpec>;

/** What to send a real app so the probes get past its own validation. */
export const PROBE_FLAGS = {
  type: {
    type: 'string',
    valueName: 'TYPE',
    help: 'A harmless message type the server handles',
    default: 'echo',
  },
  payload: {
    type: 'string',
    valueName: 'JSON',
    help: 'A valid payload of --type, as JSON (default: probe values)',
  },
  probe: {
    type: 'string',
    valueName: 'FILE',
    help: 'A JSON file {"type", "payload", "otherToken"} instead of --type/--payload/--other-token',
  },
} satisfies Record<string, FlagSpec>;

/** The probe message a command sends, from --probe or --type/--payload. */
export interface ProbeSpec {
  type: string;
  /** undefined: no --payload, the command's own probe values. */
  payload: unknown;
  otherToken?: string;
}

/** Reads --probe / --type / --payload; a bad file or JSON is a UsageError. */
export function readProbeSpec(flags: ParsedFlags, readFile: (path: string) => string): ProbeSpec {
  const parse = (text: string, what: string): unknown => {
    try {
      return JSON.parse(text);
    } catch (err) {
      throw new UsageError(`${what} is not JSON: ${(err as Error).message}`);
    }
  };
  if (typeof flags.probe === 'string') {
    let text: string;
    try {
      text = readFile(flags.probe);
    } catch (err) {
      throw new UsageError(`--probe: cannot read ${flags.probe} (${(err as Error).message})`);
    }
    const spec = parse(text, '--probe') as Record<string, unknown> | null;
    if (spec === null || typeof spec !== 'object' || typeof spec.type !== 'string')
      throw new UsageError('--probe must hold an object with a string "type"');
    if (spec.otherToken !== undefined && typeof spec.otherToken !== 'string')
      throw new UsageError('--probe: "otherToken" must be a string');
    return {
      type: spec.type,
      payload: spec.payload,
      ...(typeof spec.otherToken === 'string' ? { otherToken: spec.otherToken } : {}),
    };
  }
  return {
    type: String(flags.type),
    payload: typeof flags.payload === 'string' ? parse(flags.payload, '--payload') : undefined,
  };
}

export interface CommandSpec {
  /** The command as a user types it, e.g. `wsguard init` (the scripts under scripts/ run the same). */
  usage: string;
  summary: string;
  flags: Record<string, FlagSpec>;
  examples: string[];
}

export type ParsedFlags = Record<string, string | boolean | undefined>;

/** A command-line mistake: printed with the usage, exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** Parses `--flag`, `--flag=value` and `--flag value`; an unknown flag is a UsageError. */
export function parseFlags(spec: CommandSpec, argv: readonly string[]): ParsedFlags {
  const options: Record<string, { type: 'boolean' | 'string' }> = {};
  for (const [name, f] of Object.entries(spec.flags)) options[name] = { type: f.type };
  try {
    const { values } = parseArgs({ args: [...argv], options, strict: true, allowPositionals: false });
    const out: ParsedFlags = {};
    for (const [name, f] of Object.entries(spec.flags))
      out[name] = (values[name] as string | boolean | undefined) ?? f.default;
    return out;
  } catch (err) {
    throw new UsageError((err as Error).message.split('\n')[0] ?? 'bad arguments');
  }
}

export function formatUsage(spec: CommandSpec): string {
  const rows = Object.entries(spec.flags).map(([name, f]) => {
    const left = f.type === 'string' ? `--${name}=<${f.valueName ?? 'value'}>` : `--${name}`;
    const def = f.default !== undefined && f.default !== false ? ` (default: ${f.default})` : '';
    return [left, `${f.help}${def}`] as const;
  });
  const width = Math.max(...rows.map(([l]) => l.length)) + 2;
  return [
    `Usage: ${spec.usage} [options]`,
    '',
    spec.summary,
    '',
    'Options:',
    ...rows.map(([l, r]) => `  ${l.padEnd(width)}${r}`),
    '',
    'Examples:',
    ...spec.examples.map((e) => `  ${e}`),
    '',
  ].join('\n');
}

/** Where a command prints: stdout lines and stderr lines. */
export interface CommandIo {
  out: (line: string) => void;
  err: (line: string) => void;
}

/**
 * The part every command's main() shares: parse, print usage and exit 2 on a mistake, print
 * usage and exit 0 for --help. Returns the flags, or the exit code when it already answered.
 */
export function readCommandLine(
  spec: CommandSpec,
  argv: readonly string[],
  io: CommandIo,
): ParsedFlags | number {
  let flags: ParsedFlags;
  try {
    flags = parseFlags(spec, argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    io.err(`${err.message}\n\n${formatUsage(spec)}`);
    return 2;
  }
  if (flags.help) {
    io.out(formatUsage(spec));
    return 0;
  }
  return flags;
}
