import type { AuditContext } from '../context.js';
import { answer, appMessage, describe, isThrottle, paceMessages } from '../net.js';
import type { CheckDef } from '../types.js';
import { shared } from './shared.js';

type Check = CheckDef<AuditContext>;

const quantile = (sorted: number[], p: number) =>
  Math.round((sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0) * 100) / 100;

export const performanceChecks: Check[] = [
  {
    id: 'performance.latency',
    title: 'Slow round trips (p95 over 1 s)',
    category: 'performance',
    severity: 'low',
    cwe: null,
    remediation:
      'Slow round trips on an idle socket point at a blocked event loop or an overloaded proxy: profile handlers, move heavy work off the loop.',
    plan: 'sends at most min(--messages, 50) pings one after another, within --duration',
    async run(ctx) {
      const conn = await shared(ctx, 'perf');
      const wsguard = conn.authOk !== undefined;
      const samples = Math.min(ctx.bounds.messages, 50);
      const deadline = performance.now() + ctx.bounds.durationMs;
      const ms: number[] = [];
      const t = ctx.bounds.timeoutMs;
      for (let i = 0; i < samples && performance.now() < deadline; i++) {
        await paceMessages(ctx);
        const start = performance.now();
        conn.send(wsguard ? { type: 'ping', ts: Date.now() } : appMessage(ctx, conn, i));
        const a = await answer(conn, t);
        if (a.kind !== 'reply' || a.refused) {
          if (ms.length === 0) return { result: 'error', detail: `no answer to a ping: ${describe(a, t)}` };
          break;
        }
        ms.push(performance.now() - start);
      }
      ms.sort((a, b) => a - b);
      const data = {
        samples: ms.length,
        p50: quantile(ms, 0.5),
        p95: quantile(ms, 0.95),
        max: quantile(ms, 1),
      };
      const evidence = {
        sent: [`${ms.length} × ${wsguard ? '{"type":"ping","ts":…}' : 'application message'}`],
        received: [`p50 ${data.p50} ms, p95 ${data.p95} ms, max ${data.max} ms`],
      };
      return data.p95 > 1000
        ? { result: 'warn', detail: `p95 ${data.p95} ms over ${ms.length} round trips`, evidence, data }
        : {
            result: 'pass',
            detail: `p50 ${data.p50} ms, p95 ${data.p95} ms over ${ms.length} round trips`,
            evidence,
            data,
          };
    },
  },
  {
    id: 'performance.throughput',
    title: 'Echo throughput (informational)',
    category: 'performance',
    severity: 'info',
    cwe: null,
    remediation: 'Informational: the handled rate one socket reaches before a limit or the bound stops it.',
    plan: 'sends at most --messages application messages, 10 in flight, within --duration, stopping at the first refusal',
    async run(ctx) {
      // Its own socket: the latency pings spent the first socket's message budget.
      const conn = await shared(ctx, 'throughput');
      const t = ctx.bounds.timeoutMs;
      const start = performance.now();
      const deadline = start + ctx.bounds.durationMs;
      let handled = 0;
      let stop: string | undefined;
      for (let sent = 0; sent < ctx.bounds.messages && performance.now() < deadline && !stop; ) {
        const n = Math.min(10, ctx.bounds.messages - sent);
        // Under the announced limits: the rate this socket reaches, not a refusal and a strike.
        await paceMessages(ctx, n);
        for (let i = 0; i < n; i++) conn.send(appMessage(ctx, conn, sent + i));
        sent += n;
        for (let i = 0; i < n; i++) {
          const a = await answer(conn, t);
          if (a.kind !== 'reply' || a.refused) {
            stop = `${isThrottle(a) ? 'limited' : 'stopped'}: ${describe(a, t)}`;
            break;
          }
          handled++;
        }
      }
      const seconds = (performance.now() - start) / 1000;
      const perSecond = Math.round(handled / seconds);
      const data = { handled, seconds: Math.round(seconds * 1000) / 1000, perSecond };
      return {
        result: 'pass',
        detail: `${handled} handled in ${data.seconds} s (${perSecond}/s)${stop ? `, ${stop}` : ''}`,
        evidence: {
          sent: [`up to ${ctx.bounds.messages} messages, 10 in flight`],
          received: [`${handled} handled`, ...(stop ? [stop] : [])],
        },
        data,
      };
    },
  },
];
