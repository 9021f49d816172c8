import { createServer } from 'node:http';
import { serve } from './common.mjs';

// WSGUARD_DIST: another build (the bench's --baseline), else this checkout's dist/.
const dist = process.env.WSGUARD_DIST ?? new URL('../../dist', import.meta.url).pathname;
const { setupWebSockets } = await import(`${dist}/src/server/index.js`);

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
// Encodes of a publication's payload (JSON.stringify of an object) while publishing, counted by
// wrapping JSON.stringify for that time only: a publication to 10,000 subscribers must be
// encoded once, not once per subscriber. (Strings, such as the event name, are not counted.)
const stringify = JSON.stringify;
process.on('message', async (m) => {
  if (m.cmd !== 'publish') return;
  let encodes = 0;
  JSON.stringify = (...args) => {
    if (typeof args[0] === 'object' && args[0] !== null) encodes++;
    return Reflect.apply(stringify, JSON, args);
  };
  try {
    for (let i = 0; i < m.count; i++)
      await wss.publish('room:bench', 'chat', { from: 'server', text: 'hello everyone', n: i });
  } finally {
    JSON.stringify = stringify;
  }
  process.send?.({ published: { count: m.count, encodes } });
});
serve(http);
