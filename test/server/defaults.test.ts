import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULTS } from '../../src/server/defaults.js';
import { repoRoot } from '../helpers/project.js';

// The TSDoc `@default` of every option is what users read; DEFAULTS is what the code uses. This
// reads the option interfaces' source and checks each tag against DEFAULTS.

/** Where each options interface lives and which part of DEFAULTS holds its values. */
const INTERFACES: { file: string; name: string; defaults: Record<string, unknown> }[] = [
  { file: 'src/server/options.ts', name: 'WsGuardOptions', defaults: DEFAULTS },
  { file: 'src/server/options.ts', name: 'JwtOptions', defaults: DEFAULTS.jwt },
  { file: 'src/server/session/options.ts', name: 'SessionOptions', defaults: DEFAULTS.session },
  {
    file: 'src/server/monitor/backpressure.ts',
    name: 'BackpressureOptions',
    defaults: DEFAULTS.backpressure,
  },
  { file: 'src/server/monitor/http.ts', name: 'HttpEndpointsOptions', defaults: DEFAULTS.http },
  { file: 'src/server/limits/options.ts', name: 'LimitsOptions', defaults: DEFAULTS.limits },
  { file: 'src/server/limits/options.ts', name: 'PenaltyOptions', defaults: DEFAULTS.limits.penalties },
  { file: 'src/server/limits/options.ts', name: 'TypeLimit', defaults: { cost: DEFAULTS.limits.typeCost } },
  { file: 'src/server/anomaly/index.ts', name: 'AnomalyOptions', defaults: DEFAULTS.anomaly },
  { file: 'src/server/anomaly/index.ts', name: 'AnomalyThresholds', defaults: DEFAULTS.anomaly.thresholds },
  { file: 'src/server/session/revocation.ts', name: 'BanOptions', defaults: DEFAULTS.ban },
  { file: 'src/server/server.ts', name: 'CloseOptions', defaults: DEFAULTS.close },
];

/** Defaults written as prose (computed, or another interface's): not a value to compare. */
const PROSE: Record<string, string> = {
  'WsGuardOptions.requireOrigin': 'computed from allowedOrigins',
  'WsGuardOptions.requireTls': 'computed from NODE_ENV',
  'WsGuardOptions.allowedHosts': 'computed from NODE_ENV and allowedOrigins',
  'WsGuardOptions.session': 'see SessionOptions',
  'WsGuardOptions.backpressure': 'see BackpressureOptions',
  'WsGuardOptions.http': 'see HttpEndpointsOptions',
  'WsGuardOptions.limits': 'see LimitsOptions',
  'WsGuardOptions.anomaly': 'see AnomalyOptions',
  'WsGuardOptions.now': 'Date.now',
  'WsGuardOptions.store': 'memoryStore()',
  'WsGuardOptions.logger': 'a pino logger',
  'JwtOptions.algorithms': 'depends on the key given',
  'LimitsOptions.penalties': 'see PenaltyOptions',
  'WsGuardOptions.authorize': 'no rules: every declared type allowed',
  'WsGuardOptions.channels': 'no channels',
};

/** Required (or one of them is): no default to document. */
const REQUIRED = new Set([
  'WsGuardOptions.auth',
  'JwtOptions.secret',
  'JwtOptions.publicKey',
  'JwtOptions.jwksUrl',
]);

/** `hardLimitBytes` is written as a multiple of `maxBufferedBytes`. */
const SPECIAL: Record<string, () => void> = {
  'BackpressureOptions.hardLimitBytes': () => expect(DEFAULTS.backpressure.hardLimitFactor).toBe(4),
};

function interfaceBody(source: string, name: string): string {
  const start = new RegExp(`export interface ${name}\\b[^{]*\\{`).exec(source);
  if (!start) throw new Error(`interface ${name} not found`);
  let depth = 1;
  let i = start.index + start[0].length;
  const from = i;
  for (; depth > 0 && i < source.length; i++) {
    if (source[i] === '{') depth++;
    else if (source[i] === '}') depth--;
  }
  return source.slice(from, i - 1);
}

/** Each documented property of the interface and the text after its `@default`, if any. */
function documented(body: string): { prop: string; tag: string | undefined }[] {
  const out: { prop: string; tag: string | undefined }[] = [];
  for (const m of body.matchAll(/(\/\*\*[\s\S]*?\*\/)\s*(\w+)\??:/g)) {
    const doc = (m[1] as string)
      .replace(/^\/\*\*|\*\/$/g, '')
      .split('\n')
      .map((l) => l.replace(/^\s*\* ?/, '').trim())
      .join(' ');
    const at = doc.indexOf('@default');
    out.push({ prop: m[2] as string, tag: at === -1 ? undefined : doc.slice(at + 8).trim() });
  }
  return out;
}

/** The leading literal of a tag (`86400000 (24 h)` -> 86400000), or `prose` when it is not one. */
function literal(tag: string): { value: unknown } | 'prose' {
  let text: string;
  if (tag.startsWith('{') || tag.startsWith('[')) {
    let depth = 0;
    let i = 0;
    for (; i < tag.length; i++) {
      if (tag[i] === '{' || tag[i] === '[') depth++;
      else if (tag[i] === '}' || tag[i] === ']') depth--;
      if (depth === 0) break;
    }
    text = tag.slice(0, i + 1);
  } else if (tag.startsWith("'")) text = tag.slice(0, tag.indexOf("'", 1) + 1);
  else text = tag.split(/[\s:]/)[0] as string;
  const rest = tag.slice(text.length).trim();
  if (rest !== '' && !rest.startsWith('(') && !rest.startsWith(':')) return 'prose';
  if (text === 'undefined') return { value: undefined };
  const json = text
    .replace(/'/g, '"')
    .replace(/([{,]\s*)([A-Za-z_]\w*)\s*:/g, '$1"$2":')
    .replace(/(\d)_(\d)/g, '$1$2');
  try {
    return { value: JSON.parse(json) };
  } catch {
    return 'prose';
  }
}

describe('every @default in the option types equals DEFAULTS', () => {
  for (const { file, name, defaults } of INTERFACES) {
    const props = documented(interfaceBody(readFileSync(join(repoRoot, file), 'utf8'), name));
    it(`${name} (${file})`, () => {
      expect(props.length).toBeGreaterThan(0);
      for (const { prop, tag } of props) {
        const key = `${name}.${prop}`;
        if (REQUIRED.has(key)) continue;
        expect(tag, `${key} has no @default`).toBeDefined();
        if (SPECIAL[key]) {
          SPECIAL[key]();
          continue;
        }
        const parsed = literal(tag as string);
        if (parsed === 'prose') {
          expect(PROSE[key], `${key}: @default ${tag} is neither a value nor listed as prose`).toBeDefined();
          continue;
        }
        expect(PROSE[key], `${key} is listed as prose but its @default is a value`).toBeUndefined();
        expect(defaults[prop], `${key}: @default ${tag}`).toEqual(parsed.value);
      }
    });
  }

  it('reads the tags it should (a check on the parser itself)', () => {
    expect(literal('86400000 (24 h)')).toEqual({ value: 86_400_000 });
    expect(literal("'/ws'")).toEqual({ value: '/ws' });
    expect(literal('{ max: 30, windowMs: 60000 }')).toEqual({ value: { max: 30, windowMs: 60_000 } });
    expect(literal('undefined: only the same origin')).toEqual({ value: undefined });
    expect(literal('see SessionOptions')).toBe('prose');
    expect(literal('4 x maxBufferedBytes')).toBe('prose');
  });

  it('DEFAULTS cannot be changed at run time', () => {
    expect(Object.isFrozen(DEFAULTS)).toBe(true);
    expect(Object.isFrozen(DEFAULTS.limits.penalties)).toBe(true);
    expect(Object.isFrozen(DEFAULTS.anomaly.weights)).toBe(true);
    expect(() => {
      (DEFAULTS.limits.messages as { rate: number }).rate = 1;
    }).toThrow(TypeError);
  });
});
