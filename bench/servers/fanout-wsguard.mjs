import { createServer } from 'node:http';
import { setupWebSockets } from '../../dist/src/server/index.js';
import { serve } from './common.mjs';

// Fan-out: wsguard with channels. Clients subscribe to room:bench themselves (authorized); the
// orchestrator asks for `count` publications over IPC, each delivered to every subscriber.
const http = createServer();
const wss = setupWebSockets(http, {
  auth: { jwt: { secret: 'bench-secret-bench-secret-bench-secret-01' } },
  logger: false,
  channels: { 'room:{name}': { authorize: () => true } },
  limits: false,
  anomaly: false,
  http: { healthPath: false, metricsPath: false },
});
process.on('message', async (m) => {
  if (m.cmd !== 'publish') return;
  for (let i = 0; i < m.count; i++)
    await wss.publish('room:bench', 'chat', { from: 'server', text: 'hello everyone', n: i });
  process.send?.({ published: m.count });
});
serve(http);
