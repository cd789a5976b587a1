// @stomp/stompjs over sockjs-client (websocket, xhr-streaming and xhr-polling transports) and
// over plain `ws` with a STOMP subprotocol, against a running sockjs-server; then the identity
// of the opening HTTP request's `Authorization: Basic` (no CONNECT credentials). sockjs-client
// in Node sends headers on its websocket transport only (transportOptions.websocket.headers,
// given to faye-websocket); its XHR transports take none, so xhr-streaming with the header is
// spoken here by raw HTTP (fetch).
// The server must run with --stomp-user alice:pw --stomp-user bob:pw (run-stomp.sh does).
// Usage: node stomp_node.mjs http://127.0.0.1:PORT
// Prints one line per case and a final "N passed, M failed"; exits non-zero on any failure.
// Every wait is bounded by WAIT_MS.

import assert from 'node:assert/strict';
import { Client } from '@stomp/stompjs';
import SockJS from 'sockjs-client';
import WebSocket from 'ws';

const BASE = process.argv[2];
const WAIT_MS = 10000;
if (!BASE) {
  console.error('usage: node stomp_node.mjs http://127.0.0.1:PORT');
  process.exit(2);
}
let unique = 0;
const uid = (name) => `${name}-${process.pid}-${++unique}`;

function within(promise, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), WAIT_MS);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

// A connected client; `transport` is a sockjs-client transport name or 'raw' for plain ws.
// `http` holds the HTTP headers of the handshake (raw ws, and sockjs-client's websocket).
async function connect({ transport = 'websocket', headers = {}, heartbeat = 0, onError, http } = {}) {
  let socket;
  const client = new Client({
    webSocketFactory: () => {
      socket = transport === 'raw'
        ? new WebSocket(`${BASE.replace('http', 'ws')}/stomp/websocket`, ['v12.stomp', 'v11.stomp'], { headers: http })
        : new SockJS(`${BASE}/stomp`, null, {
          transports: [transport], transportOptions: http ? { [transport]: { headers: http } } : {},
        });
      return socket;
    },
    connectHeaders: headers,
    heartbeatIncoming: heartbeat,
    heartbeatOutgoing: heartbeat,
    reconnectDelay: 0,
    debug: () => {},
  });
  const connected = new Promise((resolve, reject) => {
    client.onConnect = resolve;
    client.onStompError = (frame) => {
      if (onError) onError(frame);
      reject(new Error(`ERROR: ${frame.headers.message}`));
    };
    client.onWebSocketClose = () => reject(new Error('socket closed before CONNECTED'));
  });
  client.activate();
  const frame = await within(connected, 'CONNECTED');
  client.onWebSocketClose = () => {};
  client.onStompError = onError || (() => {});
  return { client, frame, socket: () => socket };
}

// Messages of a subscription, awaited one by one.
function inbox(client, destination, headers = {}) {
  const queue = [];
  const waiters = [];
  const subscription = client.subscribe(destination, (message) => {
    const waiter = waiters.shift();
    if (waiter) waiter(message); else queue.push(message);
  }, headers);
  return {
    subscription,
    next: () => within(new Promise((resolve) => {
      const message = queue.shift();
      if (message) resolve(message); else waiters.push(resolve);
    }), `a message on ${destination}`),
    pending: () => queue.length,
  };
}

// A receipt for a SUBSCRIBE makes sure the subscription is live before anything is sent.
async function subscribed(client, destination, headers = {}) {
  const receipt = uid('sub');
  const done = new Promise((resolve) => client.watchForReceipt(receipt, resolve));
  const box = inbox(client, destination, { ...headers, receipt });
  await within(done, `the receipt for SUBSCRIBE ${destination}`);
  return box;
}

async function sendWithReceipt(client, params) {
  const receipt = uid('send');
  const done = new Promise((resolve) => client.watchForReceipt(receipt, resolve));
  client.publish({ ...params, headers: { ...(params.headers || {}), receipt } });
  return within(done, 'a RECEIPT');
}

const cases = [];
const test = (name, fn) => cases.push({ name, fn });
const clients = [];
const open = async (options) => {
  const c = await connect(options);
  clients.push(c.client);
  return c;
};

test('connects over sockjs websocket with heart-beats negotiated', async () => {
  const { frame, client } = await open({ heartbeat: 1000 });
  assert.equal(frame.headers.version, '1.2');
  assert.match(frame.headers['heart-beat'], /^\d+,\d+$/);
  assert.ok(frame.headers.server.startsWith('sockjs-server/'));
  // Outlive a few heart-beat periods and still be connected.
  await new Promise((resolve) => setTimeout(resolve, 2500));
  assert.ok(client.connected);
});

test('plain websocket negotiates a STOMP subprotocol', async () => {
  const { frame, socket } = await open({ transport: 'raw' });
  assert.equal(socket().protocol, 'v12.stomp');
  assert.equal(frame.headers.version, '1.2');
});

test('a topic message reaches subscribers on websocket and xhr-streaming', async () => {
  const topic = `/topic/${uid('news')}`;
  const a = await open({ transport: 'websocket' });
  const b = await open({ transport: 'xhr-streaming' });
  const c = await open({ transport: 'xhr-polling' });
  const boxB = await subscribed(b.client, topic);
  const boxC = await subscribed(c.client, topic);
  a.client.publish({ destination: topic, body: 'héllo wörld' });
  assert.equal((await boxB.next()).body, 'héllo wörld');
  assert.equal((await boxC.next()).body, 'héllo wörld');
});

test('queue consumers compete: each message to exactly one', async () => {
  const queue = `/queue/${uid('jobs')}`;
  const producer = await open();
  const one = await open();
  const two = await open({ transport: 'xhr-streaming' });
  const boxOne = await subscribed(one.client, queue);
  const boxTwo = await subscribed(two.client, queue);
  for (let i = 0; i < 4; i++) producer.client.publish({ destination: queue, body: `${i}` });
  const got = [await boxOne.next(), await boxOne.next(), await boxTwo.next(), await boxTwo.next()]
    .map((m) => m.body).sort();
  assert.deepEqual(got, ['0', '1', '2', '3']);
  await sendWithReceipt(producer.client, { destination: `/topic/${uid('flush')}`, body: '' });
  assert.equal(boxOne.pending() + boxTwo.pending(), 0);
});

test('client ack and NACK redelivery', async () => {
  const queue = `/queue/${uid('work')}`;
  const worker = await open();
  const box = await subscribed(worker.client, queue, { ack: 'client-individual' });
  worker.client.publish({ destination: queue, body: 'job' });
  const first = await box.next();
  first.nack();
  const again = await box.next();
  assert.equal(again.body, 'job');
  assert.equal(again.headers['message-id'], first.headers['message-id']);
  again.ack();
  worker.client.publish({ destination: queue, body: 'next' });
  assert.equal((await box.next()).body, 'next');
});

test('transactions: commit delivers, abort drops', async () => {
  const topic = `/topic/${uid('tx')}`;
  const { client } = await open();
  const box = await subscribed(client, topic);
  const aborted = client.begin();
  client.publish({ destination: topic, body: 'dropped', headers: { transaction: aborted.id } });
  aborted.abort();
  const committed = client.begin();
  client.publish({ destination: topic, body: 'kept', headers: { transaction: committed.id } });
  client.publish({ destination: topic, body: 'outside' });
  committed.commit();
  assert.equal((await box.next()).body, 'outside');
  assert.equal((await box.next()).body, 'kept');
  await sendWithReceipt(client, { destination: `/topic/${uid('flush')}`, body: '' });
  assert.equal(box.pending(), 0);
});

test('receipts for SEND', async () => {
  const { client } = await open({ transport: 'xhr-polling' });
  const receipt = await sendWithReceipt(client, { destination: '/topic/receipts', body: 'x' });
  assert.equal(receipt.command, 'RECEIPT');
});

test('an ERROR frame for a bad destination, then the connection closes', async () => {
  let error;
  const { client } = await open({ onError: (frame) => { error = frame; } });
  const closed = new Promise((resolve) => { client.onWebSocketClose = resolve; });
  client.publish({ destination: '/nowhere', body: 'x', headers: { receipt: 'bad-1' } });
  await within(closed, 'the close after ERROR');
  assert.ok(error, 'an ERROR frame arrived');
  assert.match(error.headers.message, /unknown destination/);
  assert.equal(error.headers['receipt-id'], 'bad-1');
});

test('login is checked and user destinations reach every session of a user', async () => {
  const alice1 = await open({ headers: { login: 'alice', passcode: 'pw' } });
  const alice2 = await open({ transport: 'xhr-streaming', headers: { login: 'alice', passcode: 'pw' } });
  assert.equal(alice1.frame.headers['user-name'], 'alice');
  const bob = await open({ headers: { login: 'bob', passcode: 'pw' } });
  const box1 = await subscribed(alice1.client, '/user/queue/whisper');
  const box2 = await subscribed(alice2.client, '/user/queue/whisper');
  bob.client.publish({ destination: '/app/whisper/alice', body: 'psst' });
  for (const box of [box1, box2]) {
    const m = await box.next();
    assert.equal(m.body, 'psst');
    assert.equal(m.headers.sender, 'bob');
  }
  await assert.rejects(connect({ headers: { login: 'alice', passcode: 'wrong' } }), /bad credentials/);
});

test('the demo chat handler publishes to /topic/chat.{room}', async () => {
  const room = uid('room');
  const { client } = await open({ headers: { login: 'bob', passcode: 'pw' } });
  const box = await subscribed(client, `/topic/chat.${room}`);
  client.publish({ destination: `/app/chat/${room}`, body: 'hi all' });
  const m = await box.next();
  assert.equal(m.body, 'hi all');
  assert.equal(m.headers.sender, 'bob');
});

// HTTP Basic (RFC 7617).
const basic = (user, password) => ({ Authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` });

test('HTTP Basic on the sockjs websocket handshake is the user, no CONNECT credentials', async () => {
  const { frame, client } = await open({ http: basic('alice', 'pw') });
  assert.equal(frame.headers['user-name'], 'alice');
  const box = await subscribed(client, '/user/queue/whisper');
  client.publish({ destination: '/app/whisper/alice', body: 'note to self' });
  const m = await box.next();
  assert.equal(m.body, 'note to self');
  assert.equal(m.headers.sender, 'alice');
  // The handshake's user wins over CONNECT's login (bob's, unused).
  const again = await open({ http: basic('alice', 'pw'), headers: { login: 'bob', passcode: 'pw' } });
  assert.equal(again.frame.headers['user-name'], 'alice');
});

test('HTTP Basic on the raw /stomp/websocket is the user; a wrong password gets 401', async () => {
  const { frame } = await open({ transport: 'raw', http: basic('bob', 'pw') });
  assert.equal(frame.headers['user-name'], 'bob');
  for (const http of [basic('bob', 'wrong'), basic('nobody', 'pw')]) {
    const ws = new WebSocket(`${BASE.replace('http', 'ws')}/stomp/websocket`, ['v12.stomp'], { headers: http });
    const status = await within(new Promise((resolve) => {
      ws.on('unexpected-response', (req, res) => { resolve(res.statusCode); req.destroy(); });
      ws.on('open', () => { resolve('open'); ws.close(); });
      ws.on('error', () => {});
    }), 'the refused handshake');
    assert.equal(status, 401, `${JSON.stringify(http)}: handshake answered ${status}`);
  }
});

// SockJS xhr-streaming by hand, with `http` headers on every request: the STOMP frames
// (without their NUL) received in `a[...]` frames, awaited one by one.
async function xhrStreaming(http) {
  const session = `${BASE}/stomp/000/${uid('s').replace(/[^a-z0-9]/gi, '')}`;
  const answer = await within(fetch(`${session}/xhr_streaming`, { method: 'POST', headers: http }), 'xhr_streaming');
  if (answer.status !== 200) return { status: answer.status };
  const reader = answer.body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  const frames = [];
  const next = async () => {
    for (;;) {
      const line = buffer.indexOf('\n');
      if (line >= 0) {
        const frame = buffer.slice(0, line);
        buffer = buffer.slice(line + 1);
        if (frame === 'o' || frame === 'h' || /^h+$/.test(frame)) continue;
        if (frame.startsWith('a')) { frames.push(...JSON.parse(frame.slice(1))); }
        else if (frame.startsWith('c')) throw new Error(`closed: ${frame}`);
        if (frames.length) return frames.shift().replace(/\0$/, '');
        continue;
      }
      const { value, done } = await within(reader.read(), 'an xhr_streaming chunk');
      if (done) throw new Error('xhr_streaming ended');
      buffer += decoder.decode(value, { stream: true });
    }
  };
  const send = (frame, headers = http) => fetch(`${session}/xhr_send`, {
    method: 'POST', headers: { ...headers, 'Content-Type': 'text/plain' }, body: JSON.stringify([frame]),
  });
  return { status: 200, next, send, close: () => reader.cancel().catch(() => {}) };
}

test('HTTP Basic on xhr-streaming (raw HTTP) is the user; 401 for a wrong password, 404 for another user', async () => {
  const stream = await xhrStreaming(basic('alice', 'pw'));
  assert.equal(stream.status, 200);
  try {
    const sent = await stream.send('CONNECT\naccept-version:1.2\nhost:x\n\n\0');
    assert.equal(sent.status, 204);
    const connected = await stream.next();
    assert.match(connected, /^CONNECTED\n/);
    assert.match(connected, /\nuser-name:alice\n/);
    // A request of alice's session by someone else (bob, or nobody) is not hers to use.
    for (const other of [basic('bob', 'pw'), {}]) {
      const refused = await stream.send('SEND\ndestination:/topic/x\n\nhi\0', other);
      assert.equal(refused.status, 404, `${JSON.stringify(other)}: xhr_send answered ${refused.status}`);
    }
  } finally {
    await stream.close();
  }
  const wrong = await xhrStreaming(basic('alice', 'wrong'));
  assert.equal(wrong.status, 401);
});

let passed = 0;
let failed = 0;
for (const { name, fn } of cases) {
  try {
    await within(fn(), name);
    passed++;
    console.log(`ok   ${name}`);
  } catch (err) {
    failed++;
    console.log(`FAIL ${name}: ${err && err.stack ? err.stack : err}`);
  }
  await Promise.all(clients.splice(0).map((c) => within(c.deactivate(), 'deactivate').catch(() => {})));
}
console.log(`node: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
