import { CHANNEL_NAME_PATTERN, isChannelName } from '../../protocol/index.js';
import { WsgConfigError } from '../errors.js';

/** A declared channel pattern (`room:{name}`), compiled. */
export interface CompiledPattern<T> {
  readonly pattern: string;
  readonly params: readonly string[];
  readonly config: T;
  /** Literal characters: the more, the more specific. */
  readonly literals: number;
  readonly regex: RegExp;
  readonly constraints: ReadonlyMap<string, RegExp>;
}

export interface ChannelMatch<T> {
  readonly name: string;
  readonly pattern: string;
  readonly params: Readonly<Record<string, string>>;
  readonly config: T;
}

/** A parameter is one segment: no `:`, so `user:{id}` never matches `user:a:b`. */
const SEGMENT = '([A-Za-z0-9_.@-]+)';
const PARAM = /\{([A-Za-z_][A-Za-z0-9_]{0,31})\}/g;

function compile<T>(pattern: string, config: T, constraints: Record<string, RegExp> | undefined) {
  const params: string[] = [];
  let literals = 0;
  let source = '';
  let last = 0;
  for (const m of pattern.matchAll(PARAM)) {
    const literal = pattern.slice(last, m.index);
    source += literal.replace(/[.*+?^${}()|[\]\\-]/g, '\\$&');
    literals += literal.length;
    const name = m[1] as string;
    if (params.includes(name))
      throw new WsgConfigError(
        'WSG_CONFIG_INVALID_CHANNEL',
        `channel pattern '${pattern}' repeats {${name}}`,
      );
    params.push(name);
    source += SEGMENT;
    last = m.index + m[0].length;
  }
  const tail = pattern.slice(last);
  source += tail.replace(/[.*+?^${}()|[\]\\-]/g, '\\$&');
  literals += tail.length;
  // The pattern with each parameter replaced by one character must itself be a channel name.
  const sample = pattern.replace(PARAM, 'x');
  if (!CHANNEL_NAME_PATTERN.test(sample) || /[{}]/.test(sample)) {
    throw new WsgConfigError(
      'WSG_CONFIG_INVALID_CHANNEL',
      `channel pattern '${pattern}' is not <namespace>:<rest> with {params}`,
    );
  }
  const checks = new Map<string, RegExp>();
  for (const [name, re] of Object.entries(constraints ?? {})) {
    if (!params.includes(name))
      throw new WsgConfigError('WSG_CONFIG_INVALID_CHANNEL', `channel pattern '${pattern}' has no {${name}}`);
    if (!(re instanceof RegExp))
      throw new WsgConfigError(
        'WSG_CONFIG_INVALID_CHANNEL',
        `params.${name} of '${pattern}' must be a RegExp`,
      );
    // Anchored whatever the app wrote: a constraint is about the whole parameter.
    checks.set(name, new RegExp(`^(?:${re.source})$`, re.flags.replace(/[gy]/g, '')));
  }
  return { pattern, params, config, literals, regex: new RegExp(`^${source}$`), constraints: checks };
}

/**
 * The channel patterns an app declared, and the lookup of a name among them. A name matches a
 * pattern when its literal parts are equal and each parameter is one non-empty segment that
 * passes its constraint. When several patterns match, the most specific decides: an exact name
 * (no parameter) beats any pattern, then the one with more literal characters, then fewer
 * parameters; a remaining tie is a configuration error found at setup where it can be.
 */
export function createPatterns<T extends { params?: Record<string, RegExp> }>(declared: Record<string, T>) {
  const compiled: CompiledPattern<T>[] = [];
  for (const [pattern, config] of Object.entries(declared)) {
    compiled.push(compile(pattern, config, config.params));
  }
  compiled.sort(
    (a, b) =>
      Number(a.params.length > 0) - Number(b.params.length > 0) ||
      b.literals - a.literals ||
      a.params.length - b.params.length,
  );
  for (let i = 1; i < compiled.length; i++) {
    const a = compiled[i - 1] as CompiledPattern<T>;
    const b = compiled[i] as CompiledPattern<T>;
    if (a.params.length > 0 && a.literals === b.literals && a.params.length === b.params.length) {
      const shapeA = a.pattern.replace(PARAM, '{}');
      if (shapeA === b.pattern.replace(PARAM, '{}')) {
        throw new WsgConfigError(
          'WSG_CONFIG_INVALID_CHANNEL',
          `channel patterns '${a.pattern}' and '${b.pattern}' match the same names`,
        );
      }
    }
  }

  return {
    size: compiled.length,
    /** The declared channel a name belongs to, or undefined (WSG_UNKNOWN_CHANNEL). */
    match(name: string): ChannelMatch<T> | undefined {
      if (!isChannelName(name)) return undefined;
      for (const p of compiled) {
        const m = p.regex.exec(name);
        if (!m) continue;
        const params: Record<string, string> = Object.create(null);
        let ok = true;
        for (let i = 0; i < p.params.length; i++) {
          const key = p.params[i] as string;
          const value = m[i + 1] as string;
          const check = p.constraints.get(key);
          if (check && !check.test(value)) {
            ok = false;
            break;
          }
          params[key] = value;
        }
        if (ok) return { name, pattern: p.pattern, params: Object.freeze(params), config: p.config };
      }
      return undefined;
    },
  };
}

export type Patterns<T extends { params?: Record<string, RegExp> }> = ReturnType<typeof createPatterns<T>>;
