import { describe, expect, it } from 'vitest';
import { EXCEPTION, FILE_PATH, STACK_TRACE, VERSION } from '../../../src/cli/audit/checks/errors.js';
import { entropyBits } from '../../../src/cli/audit/checks/session.js';
import { type AuditReport, auditReportSchema, renderMarkdown } from '../../../src/cli/audit/index.js';
import { limitedLine, summarize } from '../../../src/cli/audit/run.js';
import { toSarif } from '../../../src/cli/audit/sarif.js';
import type { Finding } from '../../../src/cli/audit/types.js';
import { ErrorCodes } from '../../../src/protocol/index.js';

const f = (over: Partial<Finding>): Finding => ({
  id: 'input.binary',
  title: 'Binary frames accepted',
  category: 'input',
  severity: 'low',
  cwe: 'CWE-20',
  result: 'pass',
  detail: 'refused',
  evidence: { sent: [], received: [] },
  remediation: 'Refuse them.',
  durationMs: 1,
  ...over,
});

describe('summary and --fail-on', () => {
  it('counts fails and warns per severity; passes and skips are no findings', () => {
    const s = summarize(
      [
        f({ result: 'fail', severity: 'medium' }),
        f({ result: 'warn', severity: 'info' }),
        f({ result: 'pass', severity: 'critical' }),
        f({ result: 'skip', severity: 'critical' }),
        f({ result: 'n/a', severity: 'critical' }),
        f({ result: 'error', severity: 'high' }),
      ],
      'high',
    );
    expect(s.bySeverity).toEqual({ info: 1, low: 0, medium: 1, high: 0, critical: 0 });
    expect(s.byResult).toEqual({ pass: 1, fail: 1, warn: 1, skip: 1, 'n/a': 1, error: 1 });
    expect(s.failed).toBe(false);
  });

  it('fails at or above the threshold, warns included', () => {
    expect(summarize([f({ result: 'warn', severity: 'medium' })], 'medium').failed).toBe(true);
    expect(summarize([f({ result: 'fail', severity: 'critical' })], 'high').failed).toBe(true);
    expect(summarize([f({ result: 'fail', severity: 'low' })], 'medium').failed).toBe(false);
  });
});

describe('Markdown report', () => {
  const report: AuditReport = {
    schemaVersion: 3,
    tool: { name: 'wsguard audit', version: '0.0.0' },
    target: { url: 'ws://127.0.0.1:1/ws', origin: 'http://127.0.0.1:1' },
    protocol: { name: 'wsguard', how: 'detected', evidence: 'auth_ok', endpoint: 'ws://127.0.0.1:1/ws' },
    measured: { rttMs: 1 },
    politeness: { upgrades: 1, upgradesPerMinute: 24, lockout: null, escalated: false },
    options: {
      full: false,
      only: null,
      failOn: 'high',
      bounds: { timeoutMs: 1, burst: 1, connections: 1, messages: 1, durationMs: 1000, authWaitMs: 1000 },
    },
    startedAt: '2026-01-01T00:00:00.000Z',
    finishedAt: '2026-01-01T00:00:01.000Z',
    durationMs: 1000,
    summary: summarize(
      [f({ result: 'fail', evidence: { sent: ['~~~ a | b'], received: ['< ok'] } }), f({ detail: 'a | b' })],
      'high',
    ),
    findings: [
      f({ result: 'fail', evidence: { sent: ['~~~ a | b'], received: ['< ok'] } }),
      f({ id: 'input.unknown-type', detail: 'a | b' }),
    ],
  };

  it('is a valid report', () => {
    expect(auditReportSchema.safeParse(report).success).toBe(true);
  });

  it('keeps evidence inside its fence and pipes inside their table cell', () => {
    const md = renderMarkdown(report);
    expect(md).toContain('~~~\n> ~ ~ ~ a | b\n< < ok\n~~~');
    expect(md).toContain('| `input.unknown-type` | pass | low | a \\| b |');
    expect(md).toContain('| low | 1 |');
  });
});

describe('SARIF report', () => {
  it('is SARIF 2.1.0 with one rule per check and one result per finding, at the audited URL', () => {
    const report = {
      schemaVersion: 3 as const,
      tool: { name: 'wsguard audit' as const, version: '1.2.3' },
      target: { url: 'ws://127.0.0.1:1/ws', origin: 'http://127.0.0.1:1' },
      protocol: {
        name: 'socket.io' as const,
        how: 'forced' as const,
        evidence: '--protocol',
        endpoint: 'ws://127.0.0.1:1/socket.io/?EIO=4&transport=websocket',
      },
      measured: { rttMs: 1 },
      politeness: { upgrades: 1, upgradesPerMinute: 24, lockout: null, escalated: false },
      options: {
        full: false,
        only: null,
        failOn: 'high' as const,
        bounds: { timeoutMs: 1, burst: 1, connections: 1, messages: 1, durationMs: 1000, authWaitMs: 1000 },
      },
      startedAt: '2026-01-01T00:00:00.000Z',
      finishedAt: '2026-01-01T00:00:01.000Z',
      durationMs: 1000,
      summary: summarize([], 'high'),
      findings: [f({ result: 'fail', severity: 'high' }), f({ id: 'input.unknown-type', result: 'pass' })],
    };
    const sarif = toSarif(report) as {
      version: string;
      runs: { tool: { driver: { rules: { id: string }[] } }; results: Record<string, unknown>[] }[];
    };
    expect(sarif.version).toBe('2.1.0');
    expect(sarif.runs[0]?.tool.driver.rules.map((r) => r.id)).toEqual(['input.binary', 'input.unknown-type']);
    expect(sarif.runs[0]?.results).toEqual([
      expect.objectContaining({
        ruleId: 'input.binary',
        ruleIndex: 0,
        level: 'error',
        locations: [{ physicalLocation: { artifactLocation: { uri: 'ws://127.0.0.1:1/ws' } } }],
      }),
    ]);
  });

  it('the closing line says whether the address may be limited', () => {
    const base = { upgrades: 20, upgradesPerMinute: 24, lockout: null, escalated: false };
    expect(limitedLine(base)).toBe(
      'No sign that the server limited your address (20 upgrades, at most 24 a minute).',
    );
    expect(
      limitedLine({ ...base, lockout: { check: 'origin.null', detail: 'HTTP 429', retryAfterS: 42 } }),
    ).toBe(
      'Your address may now be limited: the server refused the auditor during origin.null and asked it to wait 42 s.',
    );
    // Paced by the limit the server announced: what is left to other clients on the address.
    const announced = {
      ...base,
      upgrades: 43,
      pace: { max: 27, windowMs: 61_000 },
      announced: { max: 30, windowMs: 60_000 },
      recentUpgrades: 16,
    };
    expect(limitedLine(announced)).toBe(
      'No sign that the server limited your address (43 upgrades, at most 27 per 61 s under its announced 30 per 60 s; 14 upgrades are left to other clients on this address for up to 60 s).',
    );
    expect(limitedLine({ ...announced, recentUpgrades: 29 })).toMatch(/; 1 upgrade is left to other clients/);
    // A lockout says so whatever the pace was.
    expect(
      limitedLine({ ...announced, lockout: { check: 'csrf.missing', detail: 'HTTP 429', retryAfterS: 60 } }),
    ).toBe(
      'Your address may now be limited: the server refused the auditor during csrf.missing and asked it to wait 60 s.',
    );
  });
});

describe('detectors', () => {
  it('find what a careless server leaks', () => {
    const stack =
      'SyntaxError: Unexpected end of JSON input\n    at JSON.parse (<anonymous>)\n    at WebSocket.<anonymous> (/srv/app/server.js:12:20)';
    expect(STACK_TRACE.test(stack)).toBe(true);
    expect(STACK_TRACE.test(JSON.stringify({ stack }))).toBe(true);
    expect(FILE_PATH.test(JSON.stringify({ stack }))).toBe(true);
    expect(FILE_PATH.test('C:\\\\app\\\\server.js')).toBe(true);
    expect(EXCEPTION.test(stack)).toBe(true);
    expect(VERSION.test('ws/8.18.0')).toBe(true);
    expect(VERSION.test('powered by Express@4.18.2')).toBe(true);
    expect(VERSION.test('Node.js v20.1.0')).toBe(true);
  });

  it('stay quiet on every wsguard error reply and close reason', () => {
    for (const [code, { message }] of Object.entries(ErrorCodes)) {
      const texts = [
        JSON.stringify({ type: 'error', id: 'audit-1', code, message, retryAfterMs: 1500 }),
        `${code};retryAfterMs=30000`,
        `HTTP 403 {"error":"${code}"}`,
      ];
      for (const text of texts)
        for (const re of [STACK_TRACE, FILE_PATH, EXCEPTION, VERSION])
          expect(re.test(text), `${re} on ${text}`).toBe(false);
    }
  });
});

describe('entropy estimate', () => {
  it('is the length times the bits of the smallest charset', () => {
    expect(entropyBits('0123456789')).toEqual({ bits: 33, charset: 'digits' });
    expect(entropyBits('deadbeefdeadbeefdeadbeefdeadbeef')).toEqual({ bits: 128, charset: 'hex' });
    expect(entropyBits('QQk-YVVw59I6SeCYT6lqfw')).toEqual({ bits: 132, charset: 'base64url' });
  });
});
