// The reference server for benches/run.sh: npm `sockjs` 0.3.24 serving /echo and /broadcast
// with the settings our server uses in the benchmark (response_limit 128 KiB, heartbeat 25 s,
// disconnect delay 5 s, logging off). Usage: node server.js [--port PORT] [--host 127.0.0.1]
//   [--disconnect-delay SECONDS] [--heartbeat-delay SECONDS]
'use strict';

const http = require('http');
const sockjs = require('sockjs');

function arg(name, fallback) {
  const i = process.argv.indexOf(name);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

const host = arg('--host', '127.0.0.1');
const port = Number(arg('--port', '8081'));
const disconnectDelay = Number(arg('--disconnect-delay', '5')) * 1000;
const heartbeatDelay = Number(arg('--heartbeat-delay', '25')) * 1000;

const common = {
  sockjs_url: 'http://127.0.0.1/sockjs.min.js',
  response_limit: 128 * 1024,
  heartbeat_delay: heartbeatDelay,
  disconnect_delay: disconnectDelay,
  log: () => {},
};

const echo = sockjs.createServer(common);
echo.on('connection', (conn) => {
  conn.on('data', (message) => conn.write(message));
});

const members = new Set();
const broadcast = sockjs.createServer(common);
broadcast.on('connection', (conn) => {
  members.add(conn);
  conn.on('data', (message) => {
    for (const member of members) member.write(message);
  });
  conn.on('close', () => members.delete(conn));
});

const server = http.createServer();
echo.installHandlers(server, { prefix: '/echo' });
broadcast.installHandlers(server, { prefix: '/broadcast' });
server.listen(port, host, () => {
  process.stderr.write(`sockjs-node listening on http://${host}:${port}\n`);
});
process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));
