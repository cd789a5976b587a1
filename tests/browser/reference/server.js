#!/usr/bin/env node
// sockjs-node 0.3.24 (npm `sockjs`, pinned in package.json here) as the reference server of
// the payload corpus (tests/browser/run-corpus.sh): what the original server does with the
// same payloads over the same transports is the yardstick for ours.
//
// Usage: node server.js --port PORT --www DIR --sockjs-url URL
//   PORT  the 127.0.0.1 port to listen on
//   DIR   served at / (the corpus page, its script and the sockjs-client bundle)
//   URL   the sockjs-client bundle the iframe page (/echo/iframe.html) loads; the default CDN
//         is unreachable in tests, so point it at DIR's sockjs.min.js
// Services: /echo (echoes every message, response_limit 4096 as our /echo, like the SockJS
// protocol suite's reference server). Prints "listening" once it accepts connections.
'use strict';

const fs = require('fs');
const http = require('http');
const path = require('path');
const sockjs = require('sockjs');

// Our /echo rotates streaming responses after 4096 bytes (demo::SUITE_RESPONSE_LIMIT).
const ECHO_RESPONSE_LIMIT = 4096;
const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'application/javascript; charset=utf-8' };

function parseArgs(argv) {
  const args = {};
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i].replace(/^--/, '');
    if (!['port', 'www', 'sockjs-url'].includes(key) || argv[i + 1] === undefined) {
      throw new Error('bad argument ' + argv[i] + ' (see the usage at the top of server.js)');
    }
    args[key] = argv[i + 1];
  }
  if (!args.port || !args.www || !args['sockjs-url']) throw new Error('--port, --www and --sockjs-url are required');
  return args;
}

function serveStatic(dir, req, res) {
  const name = path.basename(new URL(req.url, 'http://x').pathname);
  const file = path.join(dir, name);
  fs.readFile(file, (err, body) => {
    if (err || !name) { res.writeHead(404); res.end('not found'); return; }
    res.writeHead(200, { 'Content-Type': TYPES[path.extname(file)] || 'application/octet-stream' });
    res.end(body);
  });
}

function main() {
  const args = parseArgs(process.argv.slice(2));
  const echo = sockjs.createServer({
    sockjs_url: args['sockjs-url'],
    response_limit: ECHO_RESPONSE_LIMIT,
    log: () => {},
  });
  echo.on('connection', (conn) => {
    conn.on('data', (message) => conn.write(message));
  });
  const server = http.createServer((req, res) => serveStatic(args.www, req, res));
  echo.installHandlers(server, { prefix: '/echo' });
  server.listen(Number(args.port), '127.0.0.1', () => console.log('listening'));
}

main();
