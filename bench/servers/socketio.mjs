import { createServer } from 'node:http';
import { Server } from 'socket.io';
import { serve } from './common.mjs';

// (e) Socket.IO 4, WebSocket transport only, echo with an ack.
const http = createServer();
const io = new Server(http, {
  path: '/ws',
  transports: ['websocket'],
  maxHttpBufferSize: 256 * 1024,
  serveClient: false,
});
io.on('connection', (socket) => socket.on('echo', (payload, ack) => ack(payload)));
serve(http);
