import { createServer } from 'node:http';
import { jwtVerify } from 'jose';
import { WebSocketServer } from 'ws';
import { serve } from './common.mjs';

// The connection-setup reference: ws's bare handshake plus one jose HS256 verify of the
// Authorization token, then one small frame so the client knows it is through (wsguard's
// counterpart is auth_ok). Messages are acked like ws-json.
const key = new TextEncoder().encode('bench-secret-bench-secret-bench-secret-01');
const http = createServer();
const wss = new WebSocketServer({ server: http, path: '/ws', maxPayload: 256 * 1024 });
wss.on('connection', (ws, req) => {
  const token = (req.headers.authorization ?? '').slice(7);
  jwtVerify(token, key, { algorithms: ['HS256'] }).then(
    () => ws.send('{"type":"auth_ok"}'),
    () => ws.close(4401),
  );
  ws.on('message', (data) => {
    const m = JSON.parse(data.toString());
    ws.send(JSON.stringify({ type: 'ack', id: m.id, result: m.payload }));
  });
});
serve(http);
