// The cost of permessage-deflate on a STOMP broadcast: the release server started twice on a
// free port, without and with --permessage-deflate; SUBSCRIBERS raw STOMP WebSocket clients
// (`ws`, which offers permessage-deflate) on /stomp/websocket subscribe to one topic, one
// publisher sends MESSAGES messages of a ~200-byte JSON body to it, and once every subscriber
// has them all: bytes on the wire per delivery (what the subscribers' sockets read) and the
// server's CPU per delivery (user + system, /proc/PID/stat). Nothing is asserted on timings.
// Usage: [BODY_REPEAT=N] [DEFLATE_FLAGS='--permessage-deflate-level 1']
//        node tests/clients/deflate_bench.mjs [SERVER_BINARY] [SUBSCRIBERS] [MESSAGES]
//        (default target/release/sockjs-server, 50, 2000)

import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import WebSocket from 'ws';

const BIN = process.argv[2] || 'target/release/sockjs-server';
const SUBSCRIBERS = Number(process.argv[3] || 50);
const MESSAGES = Number(process.argv[4] || 2000);
const TOPIC = '/topic/bench';
// BODY_REPEAT=N: a body of N such entries (a JSON array), for larger messages.
const ENTRY = {
  user: 'alice', room: 'lobby', at: '2026-12-08T01:00:00Z',
  text: 'a chat line of ordinary length, as people type them, with a few words more',
};
const REPEAT = Number(process.env.BODY_REPEAT || 0);
const BODY = JSON.stringify(REPEAT ? Array.from({ length: REPEAT }, (_, i) => ({ ...ENTRY, seq: i })) : ENTRY);
const TICK_US = 1e6 / 100; // USER_HZ

const freePort = () => new Promise((resolve) => {
  const s = net.createServer().listen(0, '127.0.0.1', () => {
    const { port } = s.address();
    s.close(() => resolve(port));
  });
});
const cpuTicks = (pid) => {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return Number(fields[11]) + Number(fields[12]); // utime + stime
};
const frame = (command, headers, body = '') =>
  `${command}\n${Object.entries(headers).map(([k, v]) => `${k}:${v}`).join('\n')}\n\n${body}\0`;

async function client(url, onMessage) {
  const ws = new WebSocket(url, ['v12.stomp'], { perMessageDeflate: true });
  await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
  const connected = new Promise((resolve) => ws.once('message', resolve));
  ws.send(frame('CONNECT', { 'accept-version': '1.2', host: '/' }));
  await connected;
  ws.on('message', onMessage);
  return ws;
}

async function run(deflate) {
  const port = await freePort();
  const args = ['--bind', `127.0.0.1:${port}`, '--stats-interval', '0', '--no-chat-defaults'];
  if (deflate) args.push('--permessage-deflate', ...(process.env.DEFLATE_FLAGS || '').split(' ').filter(Boolean));
  const server = spawn(BIN, args, { stdio: 'ignore' });
  try {
    const url = `ws://127.0.0.1:${port}/stomp/websocket`;
    for (let i = 0; i < 100; i++) {
      const up = await new Promise((r) => net.connect(port, '127.0.0.1').on('connect', function () { this.destroy(); r(true); }).on('error', () => r(false)));
      if (up) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    let delivered = 0;
    let done;
    const all = new Promise((resolve) => { done = resolve; });
    const subs = [];
    for (let i = 0; i < SUBSCRIBERS; i++) {
      const ws = await client(url, (data) => {
        if (String(data).startsWith('MESSAGE') && ++delivered === SUBSCRIBERS * MESSAGES) done();
      });
      const receipt = new Promise((resolve) => ws.once('message', resolve));
      ws.send(frame('SUBSCRIBE', { id: '0', destination: TOPIC, receipt: 'r' }));
      await receipt;
      subs.push(ws);
    }
    const extensions = subs[0].extensions || '(none)';
    const publisher = await client(url, () => {});
    const read0 = subs.reduce((n, ws) => n + ws._socket.bytesRead, 0);
    const cpu0 = cpuTicks(server.pid);
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < MESSAGES; i++) {
      publisher.send(frame('SEND', { destination: TOPIC, 'content-type': 'application/json' }, BODY));
      if (i % 100 === 99) await new Promise((r) => setImmediate(r));
    }
    await all;
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    const cpuUs = (cpuTicks(server.pid) - cpu0) * TICK_US;
    const read = subs.reduce((n, ws) => n + ws._socket.bytesRead, 0) - read0;
    const deliveries = SUBSCRIBERS * MESSAGES;
    console.log(`deflate ${deflate ? 'on ' : 'off'} | ${deliveries} deliveries in ${secs.toFixed(2)} s` +
      ` | ${(read / deliveries).toFixed(1)} bytes/delivery on the wire` +
      ` | server CPU ${(cpuUs / deliveries).toFixed(2)} us/delivery | agreed: ${extensions}`);
    for (const ws of [...subs, publisher]) ws.terminate();
  } finally {
    server.kill('SIGTERM');
  }
}

console.log(`STOMP broadcast: ${SUBSCRIBERS} subscribers x ${MESSAGES} messages, body ${BODY.length} bytes`);
await run(false);
await run(true);
