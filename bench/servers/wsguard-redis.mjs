// (d) wsguard with every stage on, as servers/wsguard.mjs, on the Redis store.
process.env.WSGUARD_BENCH_STORE = 'redis';
await import('./wsguard.mjs');
