/**
 * `npm run fuzz`: the pipeline properties of test/fuzz/pipeline.test.ts with many more inputs
 * (default 100,000 in all). Prints what became of the inputs and exits 1 on a counterexample,
 * with the seed and path fast-check needs to replay it.
 *
 *   npm run fuzz -- --runs 200000 --seed 42
 */
import fc from 'fast-check';
import { createFuzzTarget, type FuzzTarget, fuzzInput, outcomeLabel, runInput } from './harness.js';

function flag(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? undefined : process.argv[i + 1];
}

const total = Number(flag('runs') ?? process.env.FUZZ_RUNS ?? 100_000);
const seed = Number(flag('seed') ?? Date.now() % 2 ** 31);
if (!Number.isInteger(total) || total < 1) throw new Error('--runs must be a positive integer');

let unhandled: unknown;
process.on('unhandledRejection', (err) => {
  unhandled ??= err;
});

const plan: { name: string; phase: 'authed' | 'preAuth'; limits: boolean; share: number }[] = [
  { name: 'authenticated', phase: 'authed', limits: false, share: 0.7 },
  { name: 'before auth', phase: 'preAuth', limits: false, share: 0.2 },
  { name: 'limits on', phase: 'authed', limits: true, share: 0.1 },
];

console.log(`fuzz: ${total} inputs, seed ${seed}`);
const started = performance.now();
let failed = false;
let ran = 0;
for (const step of plan) {
  const numRuns = Math.ceil(total * step.share);
  const target: FuzzTarget = createFuzzTarget({ limits: step.limits });
  const tally = new Map<string, number>();
  const t0 = performance.now();
  const result = await fc.check(
    fc.asyncProperty(fuzzInput, async (input) => {
      const label = outcomeLabel(await runInput(target, step.phase, input));
      tally.set(label, (tally.get(label) ?? 0) + 1);
      if (unhandled) throw unhandled;
    }),
    { numRuns, seed },
  );
  await target.close();
  ran += result.numRuns;
  const ms = performance.now() - t0;
  console.log(
    `\n${step.name}: ${result.numRuns} inputs in ${(ms / 1000).toFixed(1)} s, handler runs ${target.handled}`,
  );
  for (const [label, n] of [...tally].sort((a, b) => b[1] - a[1]))
    console.log(`  ${String(n).padStart(7)}  ${label}`);
  if (result.failed) {
    failed = true;
    console.error(fc.defaultReportMessage(result));
  }
}
console.log(
  `\n${ran} inputs in ${((performance.now() - started) / 1000).toFixed(1)} s: ${failed ? 'FAILED' : 'ok'}`,
);
process.exitCode = failed ? 1 : 0;
