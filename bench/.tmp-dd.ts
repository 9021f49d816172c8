import { createDedupeCache as nowMake } from '../src/server/pipeline/dedupe.js';
const base = (await import('/work/wt/base/dist/src/server/pipeline/dedupe.js')).createDedupeCache as typeof nowMake;
const data = 'x'.repeat(60);
const reply = `{"type":"ack","id":"0-0","result":{"n":1,"data":"${data}"}}`;
function make(mk: typeof nowMake, nu: number) {
  const d = mk({ window: 1000, ttlMs: 60_000, maxUsers: 100_000, maxUserBytes: 256 * 1024, maxBytes: 32 * 1024 * 1024, maxEntryBytes: 4096 });
  const users = Array.from({ length: nu }, (_, u) => `user-${u}`);
  let n = 0;
  const step = () => {
    const user = users[n % nu] as string;
    const id = `0-${n++}`;
    if (d.get(user, id) === undefined) d.set(user, id, FRESH ? `{"type":"ack","id":"${id}","result":{"n":1,"data":"${data}"}}` : reply);
  };
  for (let i = 0; i < 400_000; i++) step();
  return { step, d };
}
const PER = 100_000;
const FRESH = process.argv.includes("--fresh");
for (const nu of [1, 256, 1000]) {
  const a = make(base, nu), b = make(nowMake, nu);
  const ta: number[] = [], tb: number[] = [];
  for (let r = 0; r < 9; r++) {
    for (const [x, t] of [[a, ta], [b, tb]] as const) {
      const t0 = process.cpuUsage();
      for (let i = 0; i < PER; i++) x.step();
      const c = process.cpuUsage(t0);
      t.push((c.user + c.system) / PER);
    }
  }
  const med = (x: number[]) => [...x].sort((p, q) => p - q)[4]!.toFixed(3);
  console.log(`${nu} users: before ${med(ta)} µs (size ${a.d.size}, bytes ${a.d.bytes}) after ${med(tb)} µs (size ${b.d.size}, bytes ${b.d.bytes})`);
}
