// The demo on every core: `REDIS_URL=redis://127.0.0.1:6379 npm run start:cluster`.
// Workers share the port (Node's cluster balances connections between them) and, through
// Redis, their limits, sessions, revocations and broadcasts.
import cluster from 'node:cluster';
import { availableParallelism } from 'node:os';

if (cluster.isPrimary) {
  if (!process.env.REDIS_URL) {
    console.error(
      'start:cluster needs REDIS_URL: without a shared store each worker would keep its own limits and sessions.',
    );
    process.exit(1);
  }
  const workers = Number(process.env.WEB_CONCURRENCY) || availableParallelism();
  console.log(`wsguard demo cluster: ${workers} workers sharing ${new URL(process.env.REDIS_URL).host}`);
  for (let i = 0; i < workers; i++) cluster.fork();
  let stopping = false;
  cluster.on('exit', (worker, code) => {
    if (stopping) return;
    console.error(`worker ${worker.process.pid} exited (${code}); starting another`);
    cluster.fork();
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      stopping = true;
      for (const w of Object.values(cluster.workers ?? {})) w?.kill('SIGTERM');
    });
  }
} else {
  await import('./index.js');
}
