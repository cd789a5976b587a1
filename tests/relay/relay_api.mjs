// The server HTTP API through the broker relay: two sockjs-server nodes relaying through one
// RabbitMQ, each with --api-bind and a key. A publish to node A's API goes through the
// broker, so subscribers on A (websocket) and on B (xhr-streaming) both get it; a user
// destination reaches the user's session on B; a disconnect reaches this node only.
// Usage: node relay_api.mjs HTTP_A HTTP_B API_A API_B   (each http://127.0.0.1:PORT)
// Environment: SOCKJS_API_KEY, the nodes' key.
// Prints one line per case and a final "N passed, M failed"; every wait is bounded.

import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { WAIT_MS, uid, sleep, within, suite } from './harness.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(join(here, '../clients/package.json'));
const { Client } = require('@stomp/stompjs');
const SockJS = require('sockjs-client');

const [A, B, API_A, API_B] = process.argv.slice(2);
const KEY = process.env.SOCKJS_API_KEY;


// One API call: [status, JSON body].
async function api(base, method, path, body, key = KEY) {
  const headers = { 'Content-Type': 'application/json' };
  if (key) headers.Authorization = `Bearer ${key}`;
  const response = await within(fetch(`${base}${path}`, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body),
  }), `${method} ${path}`);
  return [response.status, await response.json()];
}

async function connect(base, transport, { login } = {}) {
  const client = new Client({
    webSocketFactory: () => new SockJS(`${base}/stomp`, null, { transports: [transport] }),
    connectHeaders: login ? { login: login.split(':')[0], passcode: login.split(':')[1] } : {},
    heartbeatIncoming: 0,
    heartbeatOutgoing: 0,
    reconnectDelay: 0,
    debug: () => {},
  });
  const errors = [];
  let closed = false;
  const connected = new Promise((resolve, reject) => {
    client.onConnect = resolve;
    client.onStompError = (f) => reject(new Error(`ERROR: ${f.headers.message}`));
    client.onWebSocketClose = () => reject(new Error('socket closed before CONNECTED'));
  });
  client.activate();
  const frame = await within(connected, `CONNECTED over ${transport}`);
  client.onStompError = (f) => errors.push(f.headers.message);
  client.onWebSocketClose = () => { closed = true; };
  return { client, frame, errors, isClosed: () => closed };
}

// A receipt proves the broker has the subscription before anyone publishes.
async function subscribed(client, destination) {
  const got = [];
  const receipt = uid('sub');
  const done = new Promise((r) => client.watchForReceipt(receipt, r));
  client.subscribe(destination, (m) => got.push(m), { receipt });
  await within(done, `receipt for ${destination}`);
  return {
    got,
    async take(n, what = destination) {
      await within((async () => { while (got.length < n) await sleep(20); })(), `${n} on ${what}`);
      return got.slice(0, n);
    },
  };
}

const { test, runAll } = suite();

test('publish on A\'s API reaches websocket and xhr-streaming subscribers on A and on B', async () => {
  const dest = `/topic/${uid('news')}`;
  const clients = [];
  for (const base of [A, B]) {
    for (const transport of ['websocket', 'xhr-streaming']) clients.push(await connect(base, transport));
  }
  const boxes = [];
  for (const c of clients) boxes.push(await subscribed(c.client, dest));
  const [status, answer] = await api(API_A, 'POST', '/api/publish',
    { destination: dest, headers: { kind: 'api' }, body: 'from the API' });
  assert.equal(status, 200, JSON.stringify(answer));
  for (const box of boxes) {
    const [m] = await box.take(1);
    assert.equal(m.body, 'from the API');
    assert.equal(m.headers.kind, 'api');
  }
  for (const c of clients) await c.client.deactivate();
});

test('publish to /user/alice/queue/... on A\'s API reaches alice on B (xhr-streaming)', async () => {
  const b = await connect(B, 'xhr-streaming', { login: 'alice:pw' });
  const box = await subscribed(b.client, '/user/queue/api');
  // A learns of alice's session on B through the registry broadcast (every second here).
  const deadline = Date.now() + WAIT_MS;
  let n = 0;
  while (box.got.length === 0 && Date.now() < deadline) {
    const [status] = await api(API_A, 'POST', '/api/publish',
      { destination: '/user/alice/queue/api', body: `psst-${n++}` });
    assert.equal(status, 200);
    await sleep(300);
  }
  const [m] = await box.take(1);
  assert.equal(m.headers.destination, '/user/queue/api');
  await b.client.deactivate();
});

test('GET /api/users on A lists a user connected to B; a wrong key gets 401', async () => {
  const b = await connect(B, 'websocket', { login: 'bob:pw' });
  let users;
  const deadline = Date.now() + WAIT_MS;
  while (Date.now() < deadline) {
    const [status, body] = await api(API_A, 'GET', '/api/users/bob');
    if (status === 200) { users = body; break; }
    await sleep(200);
  }
  assert.ok(users, 'bob listed on A');
  assert.ok(users.sessions.some((s) => s.local === false), JSON.stringify(users));
  const [status, body] = await api(API_A, 'GET', '/api/users', undefined, 'wrong');
  assert.equal(status, 401);
  assert.match(body.error, /API key/);
  await b.client.deactivate();
});

test('disconnect on B\'s API closes bob on B with the reason; A\'s API does not reach B', async () => {
  const b = await connect(B, 'xhr-streaming', { login: 'bob:pw' });
  const [, fromA] = await api(API_A, 'POST', '/api/disconnect', { user: 'bob', reason: 'not here' });
  assert.deepEqual(fromA, { disconnected: 0 }, 'another node\'s sessions are not reached');
  const [status, fromB] = await api(API_B, 'POST', '/api/disconnect', { user: 'bob', reason: 'maintenance' });
  assert.equal(status, 200);
  assert.deepEqual(fromB, { disconnected: 1 });
  await within((async () => { while (!b.isClosed()) await sleep(20); })(), 'the close');
  assert.deepEqual(b.errors, ['maintenance']);
  await b.client.deactivate();
});

await runAll({ caseMs: 60000, namePrefix: 'api: ', summaryPrefix: 'api: ' });
