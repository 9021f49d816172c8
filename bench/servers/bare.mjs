import { createServer } from 'node:http';
import { WebSocketServer } from 'ws';
import { serve } from './common.mjs';

// (a) bare ws: echo the frame as it came.
const http = createServer();
const wss = new WebSocketServer({ server: http, path: '/ws', maxPayload: 256 * 1024 });
wss.on('connection', (ws) => ws.on('message', (data, binary) => ws.send(data, { binary })));
serve(http);
