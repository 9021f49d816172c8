import { createServer } from 'node:http';
import { Server } from 'socket.io';
import { serve } from './common.mjs';

// Fan-out: Socket.IO 4 rooms, WebSocket transport. The server joins every socket to `bench`
// (Socket.IO rooms are server-side only); publications are io.to(room).emit.
const http = createServer();
const io = new Server(http, { path: '/ws', transports: ['websocket'], serveClient: false });
io.on('connection', (socket) => {
  socket.join('bench');
  socket.emit('joined');
});
process.on('message', (m) => {
  if (m.cmd !== 'publish') return;
  for (let i = 0; i < m.count; i++)
    io.to('bench').emit('chat', { from: 'server', text: 'hello everyone', n: i });
  process.send?.({ published: { count: m.count } });
});
serve(http);
