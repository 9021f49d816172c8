import { createServer } from 'node:http';
import { WebSocketServer } from 'ws';
import { serve } from './common.mjs';

// (b) ws + JSON: parse every message and stringify the reply, the least any JSON app does.
const http = createServer();
const wss = new WebSocketServer({ server: http, path: '/ws', maxPayload: 256 * 1024 });
wss.on('connection', (ws) =>
  ws.on('message', (data) => {
    const m = JSON.parse(data.toString());
    ws.send(JSON.stringify({ type: 'ack', id: m.id, result: m.payload }));
  }),
);
serve(http);
