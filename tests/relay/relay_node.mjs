// The relay suite's orchestrator: @stomp/stompjs over sockjs-client on two sockjs-server
// nodes relaying through one RabbitMQ, with stomp.py (relay_py.py) sending over TCP.
// Usage: node relay_node.mjs HTTP_A HTTP_B TCP_A TCP_B   (HTTP_*: http://127.0.0.1:PORT)
// Environment: RABBITMQ_SH, the script stopping and starting the broker (broker-loss case).
// Prints one line per case and a final "N passed, M failed"; every wait is bounded.

import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { WAIT_MS, uid, sleep, within, run, suite } from './harness.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(join(here, '../clients/package.json'));
const { Client } = require('@stomp/stompjs');
const SockJS = require('sockjs-client');

const [A, B, TCP_A, TCP_B] = process.argv.slice(2);



const pySend = (port, dest, body, count = 1, login) =>
  run('python3', [join(here, 'relay_py.py'), String(port), dest, body, String(count),
    ...(login ? [login] : [])]);

async function connect(base, { login, heartbeat = 0, onError, http } = {}) {
  // `http`: headers of the opening WebSocket request (sockjs-client's websocket transport).
  const options = { transports: ['websocket'] };
  if (http) options.transportOptions = { websocket: { headers: http } };
  const client = new Client({
    webSocketFactory: () => new SockJS(`${base}/stomp`, null, options),
    connectHeaders: login ? { login: login.split(':')[0], passcode: login.split(':')[1] } : {},
    heartbeatIncoming: heartbeat,
    heartbeatOutgoing: heartbeat,
    reconnectDelay: 0,
    debug: () => {},
  });
  const connected = new Promise((resolve, reject) => {
    client.onConnect = resolve;
    client.onStompError = (f) => reject(new Error(`ERROR: ${f.headers.message}`));
    client.onWebSocketClose = () => reject(new Error('socket closed before CONNECTED'));
  });
  client.activate();
  const frame = await within(connected, 'CONNECTED');
  client.onWebSocketClose = () => {};
  client.onStompError = onError || (() => {});
  return { client, frame };
}

function inbox(client, destination, headers = {}) {
  const got = [];
  let wake = () => {};
  client.subscribe(destination, (m) => { got.push(m); wake(); }, headers);
  return {
    got,
    async take(n, what = destination, ms = WAIT_MS) {
      await within((async () => {
        while (got.length < n) await new Promise((r) => { wake = r; });
      })(), `${n} messages on ${what}`, ms);
      return got.slice(0, n);
    },
  };
}

// A receipt proves the broker has the subscription before anyone sends.
async function subscribed(client, destination, headers = {}) {
  const receipt = uid('sub');
  const done = new Promise((r) => client.watchForReceipt(receipt, r));
  const box = inbox(client, destination, { ...headers, receipt });
  await within(done, `receipt for ${destination}`);
  return box;
}

const { test, runAll } = suite();

test('topic: stompjs on A subscribes, stomp.py on B sends, A receives', async () => {
  const dest = `/topic/${uid('x')}`;
  const { client } = await connect(A);
  const box = await subscribed(client, dest);
  await pySend(TCP_B, dest, 'hello', 3);
  const got = await box.take(3);
  assert.deepEqual(got.map((m) => m.body), ['hello-0', 'hello-1', 'hello-2']);
  await client.deactivate();
});

test('topic wildcards: * and # subscriptions on A (RabbitMQ topic rules), stomp.py sends on B', async () => {
  // The same case as tests/stomp_wildcards.rs against the in-memory broker.
  const base = uid('wild');
  const { client } = await connect(A);
  const star = await subscribed(client, `/topic/${base}.*`);
  const hash = await subscribed(client, `/topic/${base}.#`);
  for (const name of [base, `${base}.a`, `${base}.a.b`]) {
    await pySend(TCP_B, `/topic/${name}`, name);
  }
  await hash.take(3, `${base}.#`);
  await star.take(1, `${base}.*`);
  await sleep(500); // nothing more may come
  const seen = (box) => box.got.map((m) => m.headers.destination.replace(base, 'chat')).sort();
  assert.deepEqual(seen(star), ['/topic/chat.a']);
  assert.deepEqual(seen(hash), ['/topic/chat', '/topic/chat.a', '/topic/chat.a.b']);
  await client.deactivate();
});

test('queue: competing consumers on A and B get every message once', async () => {
  const dest = `/queue/${uid('work')}`;
  const a = await connect(A);
  const b = await connect(B);
  const boxA = await subscribed(a.client, dest);
  const boxB = await subscribed(b.client, dest);
  await pySend(TCP_A, dest, 'job', 20);
  await within((async () => {
    while (boxA.got.length + boxB.got.length < 20) await sleep(50);
  })(), '20 jobs');
  await sleep(300);
  const bodies = [...boxA.got, ...boxB.got].map((m) => m.body).sort();
  assert.equal(bodies.length, 20, 'each message once');
  assert.equal(new Set(bodies).size, 20);
  assert.ok(boxA.got.length > 0 && boxB.got.length > 0, `split ${boxA.got.length}/${boxB.got.length}`);
  await a.client.deactivate();
  await b.client.deactivate();
});

test('user: alice on A gets /user/alice/queue/... sent on B (client SEND and /app handler)', async () => {
  const { client, frame } = await connect(A, { login: 'alice:pw' });
  assert.equal(frame.headers['user-name'], 'alice');
  const box = await subscribed(client, '/user/queue/whisper');
  // B learns of alice's session through the registry broadcast (every second here).
  const body = uid('psst');
  const deadline = Date.now() + WAIT_MS;
  let n = 0;
  while (box.got.length === 0 && Date.now() < deadline) {
    await pySend(TCP_B, '/user/alice/queue/whisper', `${body}-${n++}`, 1, 'bob:pw');
    await sleep(300);
  }
  const [first] = await box.take(1);
  assert.equal(first.headers.destination, '/user/queue/whisper');
  await pySend(TCP_B, '/app/whisper/alice', 'via app', 1, 'bob:pw');
  const viaApp = await within((async () => {
    for (;;) {
      const m = box.got.find((x) => x.body === 'via app');
      if (m) return m;
      await sleep(50);
    }
  })(), 'the /app whisper');
  assert.equal(viaApp.headers.sender, 'bob');
  await client.deactivate();
});

test('heart-beats: 1 s both ways through the relay keep an idle client alive', async () => {
  let closed = false;
  const { client, frame } = await connect(A, { heartbeat: 1000 });
  client.onWebSocketClose = () => { closed = true; };
  assert.equal(frame.headers['heart-beat'], '1000,1000', 'RabbitMQ agreed, through the relay');
  const dest = `/topic/${uid('hb')}`;
  const box = await subscribed(client, dest);
  await sleep(4500);
  assert.equal(closed, false, 'still open after 4.5 idle seconds');
  await pySend(TCP_B, dest, 'after idle');
  await box.take(1);
  await client.deactivate();
});

test('demo chat: SENDs to /app/chat/{room} on A (stompjs, stomp.py) reach a /topic/chat.{room} subscriber on B', async () => {
  const room = uid('room');
  const b = await connect(B, { login: 'bob:pw' });
  const box = await subscribed(b.client, `/topic/chat.${room}`);
  const a = await connect(A, { login: 'alice:pw' });
  a.client.publish({ destination: `/app/chat/${room}`, body: 'hello from A' });
  await pySend(TCP_A, `/app/chat/${room}`, 'stomp.py on A', 1, 'alice:pw');
  const got = await box.take(2);
  assert.deepEqual(got.map((m) => `${m.headers.sender}: ${m.body}`).sort(),
    ['alice: hello from A', 'alice: stomp.py on A']);
  await a.client.deactivate();
  await b.client.deactivate();
});

test('app: SUBSCRIBE /app/whoami on A is answered once by the node, to that subscription, with the HTTP Basic user', async () => {
  const basic = `Basic ${Buffer.from('alice:pw').toString('base64')}`;
  const { client, frame } = await connect(A, { http: { Authorization: basic } });
  assert.equal(frame.headers['user-name'], 'alice', 'the handshake identity, through the relay');
  const box = await subscribed(client, '/app/whoami');
  const [answer] = await box.take(1);
  assert.equal(answer.body, 'alice');
  assert.equal(answer.headers.destination, '/app/whoami');
  await sleep(500);
  assert.equal(box.got.length, 1, 'answered once, no broker subscription behind it');
  await client.deactivate();
});

test('app: an /app error on A reaches the sender\'s /user/queue/errors through the relay, and the session goes on', async () => {
  const { client } = await connect(A, { login: 'bob:pw' });
  const errors = await subscribed(client, '/user/queue/errors');
  const echo = await subscribed(client, '/user/queue/echo');
  client.publish({ destination: '/app/command', body: '/nosuch' });
  const [error] = await errors.take(1);
  assert.match(error.body, /unknown command/);
  assert.match(error.headers.message, /unknown command/);
  client.publish({ destination: '/app/echo', body: 'still here' });
  const [back] = await echo.take(1);
  assert.equal(back.body, 'still here');
  await client.deactivate();
});

test('broker loss: ERROR and close, refused while down, all back when it returns', async () => {
  const script = process.env.RABBITMQ_SH;
  assert.ok(script, 'RABBITMQ_SH set');
  const errors = [];
  let closed = false;
  const { client } = await connect(A, { onError: (f) => errors.push(f.headers.message) });
  client.onWebSocketClose = () => { closed = true; };
  await subscribed(client, `/topic/${uid('loss')}`);
  await run(script, ['stop']);
  await within((async () => { while (!closed) await sleep(50); })(), 'the close');
  assert.ok(errors.some((m) => /broker/.test(m)), `ERROR frames: ${errors}`);
  await assert.rejects(connect(B), /broker not available|closed/);
  await run(script, ['start']);
  // New clients connect again; the system connections recover (the /app chat needs B's).
  const deadline = Date.now() + 30000;
  let a;
  while (!a && Date.now() < deadline) {
    a = await connect(A).catch(() => sleep(500).then(() => undefined));
  }
  assert.ok(a, 'a new client connected after the broker came back');
  // A's system connection is back: /app/echo replies travel on it.
  const echo = await subscribed(a.client, '/user/queue/echo');
  while (echo.got.length === 0 && Date.now() < deadline) {
    a.client.publish({ destination: '/app/echo', body: 'still there?' });
    await sleep(500);
  }
  await echo.take(1, 'an /app/echo reply through the recovered system connection');
  // And B's clients' broker connections reach A's subscribers again.
  const dest = `/topic/${uid('back')}`;
  const box = await subscribed(a.client, dest);
  await pySend(TCP_B, dest, 'back');
  await box.take(1);
  await a.client.deactivate();
});

await runAll({ caseMs: 90000 });
