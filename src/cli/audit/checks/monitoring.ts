import type { AuditContext } from '../context.js';
import { httpGet, httpUrl, MAX_BODY, short } from '../net.js';
import type { CheckDef } from '../types.js';

type Check = CheckDef<AuditContext>;

const SAMPLE = /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[^}]*\})?\s+[-+0-9.eEIinNaf]+(\s+-?\d+)?$/;

/**
 * The text exposition format: `# HELP`/`# TYPE` lines or `name{labels} value` samples, and
 * nothing else (an HTML page or a JSON error answered with 200 is no metrics endpoint).
 */
export function looksLikePrometheus(body: string): boolean {
  const lines = body
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .slice(0, 200);
  if (lines.length === 0) return false;
  let samples = 0;
  for (const l of lines) {
    if (l.startsWith('#')) {
      if (!/^# (HELP|TYPE|UNIT|EOF)\b/.test(l) && !l.startsWith('# ')) return false;
      continue;
    }
    if (!SAMPLE.test(l)) return false;
    samples++;
  }
  return samples > 0;
}

export const monitoringChecks: Check[] = [
  {
    id: 'monitoring.healthz',
    title: 'No health endpoint',
    category: 'monitoring',
    severity: 'info',
    cwe: null,
    remediation:
      'Expose a small health endpoint for the load balancer and uptime checks (wsguard: `/healthz`, 503 when degraded).',
    plan: 'one GET /healthz on the same host',
    async run(ctx) {
      const url = httpUrl(ctx.target, '/healthz');
      const res = await httpGet(ctx, '/healthz');
      const evidence = {
        sent: [`GET ${url.href}`],
        received: [`HTTP ${res.status} ${short(res.body, 160)}`],
      };
      if (res.status === 200 || res.status === 503)
        return { result: 'pass', detail: `HTTP ${res.status} ${short(res.body, 80)}`, evidence };
      return { result: 'warn', detail: `no health endpoint at /healthz (HTTP ${res.status})`, evidence };
    },
  },
  {
    id: 'monitoring.metrics-public',
    title: '/metrics readable without credentials',
    category: 'monitoring',
    severity: 'medium',
    cwe: 'CWE-200',
    remediation:
      'Protect the metrics endpoint with a token or serve it on an internal port only (wsguard: `http.metricsToken`, 401 without it).',
    plan: 'one GET /metrics without credentials on the same host',
    async run(ctx) {
      const url = httpUrl(ctx.target, '/metrics');
      const res = await httpGet(ctx, '/metrics');
      const series = res.body.split('\n').filter((l) => l && !l.startsWith('#')).length;
      const evidence = {
        sent: [`GET ${url.href} (no Authorization)`],
        received: [
          `HTTP ${res.status}${res.status === 200 ? `, ${series} series` : ` ${short(res.body, 120)}`}`,
        ],
      };
      const whole = res.truncated ? res.body.slice(0, res.body.lastIndexOf('\n')) : res.body;
      if (res.status === 200 && !looksLikePrometheus(whole))
        return {
          result: 'skip',
          detail: `HTTP 200 at /metrics, but not Prometheus exposition (a catch-all page?): ${short(res.body, 80)}`,
          evidence,
        };
      if (res.truncated) evidence.received.push(`body larger than ${MAX_BODY} bytes: the rest was not read`);
      if (res.status === 200)
        return {
          result: 'fail',
          detail: `public: ${series} series readable by anyone`,
          evidence,
          data: { series },
        };
      if (res.status === 401 || res.status === 403)
        return { result: 'pass', detail: `protected: HTTP ${res.status}`, evidence };
      return { result: 'skip', detail: `no metrics endpoint at /metrics (HTTP ${res.status})`, evidence };
    },
  },
];
