// tests/bench/ref-server.mjs: the Node.js reference for `onair-signal --app test`, on the
// official socket.io 4.8 server, with the same flags, app and "listening" log line:
//   node tests/bench/ref-server.mjs [--app test] [--host H] [--port P] [--ping-interval MS]
//        [--ping-timeout MS] [--max-payload BYTES] [--connect-timeout MS]
// /engine.io/: raw Engine.IO echo. /socket.io/ namespaces / and /custom: on connect emit `auth`
// (the CONNECT auth payload); message -> message-back; message-with-ack -> ack(args);
// join(room, ack) -> ack {ok, room, size}; bcast(room, ...args) -> `bcast` to the room except
// the sender (+ empty ack); echo(x, ack) -> ack(x). GET /health -> 200 JSON.
import { createServer } from 'node:http';
import { Server as EngineServer } from 'engine.io';
import { Server } from 'socket.io';

function flag(name, def) {
  const i = process.argv.indexOf(name);
  return i > 0 && i + 1 < process.argv.length ? process.argv[i + 1] : def;
}
const host = flag('--host', '127.0.0.1');
const port = Number(flag('--port', process.env.PORT || 3000));
const opts = {
  pingInterval: Number(flag('--ping-interval', 25000)),
  pingTimeout: Number(flag('--ping-timeout', 20000)),
  maxHttpBufferSize: Number(flag('--max-payload', 1e6)),
  connectTimeout: Number(flag('--connect-timeout', 45000)),
};
const log = (level, msg, extra = {}) =>
  process.stderr.write(JSON.stringify({ ts: new Date().toISOString(), level, proc: 'ref-server', msg, ...extra }) + '\n');

const http = createServer();
const io = new Server(http, { ...opts, allowEIO3: true, serveClient: false });

const eio = new EngineServer({ ...opts, path: '/engine.io/' });
eio.attach(http, { path: '/engine.io/' });
eio.on('connection', (sock) => sock.on('message', (m) => sock.send(m)));

http.prependListener('request', (req, res) => {
  if (req.url === '/health' || req.url.startsWith('/health?')) {
    const body = JSON.stringify({
      status: 'ok',
      sockets: io.of('/').sockets.size + io.of('/custom').sockets.size,
      engine_clients: io.engine.clientsCount,
    });
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(body);
  }
});

function app(nsp) {
  nsp.on('connection', (socket) => {
    socket.emit('auth', socket.handshake.auth || {});
    socket.on('message', (...args) => socket.emit('message-back', ...args));
    socket.on('message-with-ack', (...args) => {
      const ack = args.pop();
      if (typeof ack === 'function') ack(...args);
    });
    socket.on('echo', (payload, ack) => {
      if (typeof ack === 'function') ack(payload);
    });
    socket.on('join', (room, ack) => {
      socket.join(room);
      if (typeof ack === 'function') ack({ ok: true, room, size: nsp.adapter.rooms.get(room)?.size || 0 });
    });
    socket.on('bcast', (room, ...args) => {
      const ack = typeof args.at(-1) === 'function' ? args.pop() : null;
      socket.to(room).emit('bcast', ...args);
      if (ack) ack();
    });
  });
}
app(io.of('/'));
app(io.of('/custom'));

http.listen(port, host, () => log('info', 'listening', { port: http.address().port, host }));
const shutdown = () => {
  io.close(() => process.exit(0));
  eio.close();
  setTimeout(() => process.exit(0), 2000).unref();
};
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
