import { writeHeapSnapshot } from 'node:v8';

// What every benchmark server process does besides serving: tell the orchestrator its port,
// and answer CPU and memory questions over IPC. Plain JS on plain node, as users run it.
export function serve(http) {
  http.listen(0, '127.0.0.1', () => process.send?.({ port: http.address().port }));
  process.on('message', (m) => {
    if (m.cmd === 'cpu') process.send?.({ cpu: process.cpuUsage() });
    if (m.cmd === 'mem') {
      for (let i = 0; i < 3; i++) globalThis.gc?.();
      const u = process.memoryUsage();
      process.send?.({ mem: { heapUsed: u.heapUsed, rss: u.rss } });
    }
    // bench/idle-heap.ts: a heap snapshot to attribute the bytes per connection.
    if (m.cmd === 'snapshot') {
      for (let i = 0; i < 3; i++) globalThis.gc?.();
      process.send?.({ snapshot: writeHeapSnapshot(m.path) });
    }
  });
  process.on('disconnect', () => process.exit(0));
  process.on('SIGINT', () => process.exit(0));
}
