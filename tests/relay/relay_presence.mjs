// Presence across two relayed nodes (docs/stomp.md "Presence"): @stomp/stompjs over
// sockjs-client on nodes A and B started with --stomp-presence /topic/chat. and relaying
// through one RabbitMQ. Usage: node relay_presence.mjs HTTP_A HTTP_B (http://127.0.0.1:PORT).
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

const [A, B] = process.argv.slice(2);


async function connect(base, login) {
  const client = new Client({
    webSocketFactory: () => new SockJS(`${base}/stomp`, null, { transports: ['websocket'] }),
    connectHeaders: login ? { login, passcode: 'pw' } : {},
    heartbeatIncoming: 0,
    heartbeatOutgoing: 0,
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
  client.onStompError = () => {};
  return { client, user: frame.headers['user-name'] };
}

// SUBSCRIBE with a receipt; resolves once the broker (or the node) has it.
async function subscribed(client, destination) {
  const got = [];
  let wake = () => {};
  const receipt = uid('sub');
  const done = new Promise((r) => client.watchForReceipt(receipt, r));
  const sub = client.subscribe(destination, (m) => { got.push(m); wake(); }, { receipt });
  await within(done, `receipt for ${destination}`);
  return {
    got,
    sub,
    async take(n, what = destination, ms = WAIT_MS) {
      await within((async () => {
        while (got.length < n) await new Promise((r) => { wake = r; });
      })(), `${n} messages on ${what}`, ms);
      return got.slice(0, n);
    },
  };
}

// A presence watcher: its first MESSAGE is the snapshot.
async function watch(client, destination) {
  const box = await subscribed(client, `/presence${destination}`);
  const [first] = await box.take(1, `the snapshot of ${destination}`);
  assert.equal(first.headers.presence, 'snapshot');
  return { box, snapshot: JSON.parse(first.body) };
}

const users = (snapshot) => Object.fromEntries(snapshot.users.map((u) => [u.user, u.sessions]));

// Watches `destination` on `client` again and again until its snapshot satisfies `ok`
// (other nodes' changes travel through RabbitMQ).
async function snapshotUntil(client, destination, ok, what) {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const { box, snapshot } = await watch(client, destination);
    box.sub.unsubscribe();
    if (ok(snapshot)) return snapshot;
    if (Date.now() > deadline) throw new Error(`${what}: last snapshot ${JSON.stringify(snapshot)}`);
    await sleep(100);
  }
}

const { test, runAll } = suite();

test('presence: users on A and B are listed in the snapshot on either node', async () => {
  const dest = `/topic/chat.${uid('both')}`;
  const alice = await connect(A, 'alice');
  const bob = await connect(B, 'bob');
  await subscribed(alice.client, dest);
  await subscribed(bob.client, dest);
  for (const [name, base] of [['A', A], ['B', B]]) {
    const probe = await connect(base);
    const want = { alice: 1, bob: 1 };
    const s = await snapshotUntil(probe.client, dest,
      (x) => JSON.stringify(users(x)) === JSON.stringify(want), `snapshot on ${name}`);
    assert.equal(s.user_count, 2);
    assert.equal(s.session_count, 2);
    assert.equal(s.destination, dest);
    await probe.client.deactivate();
  }
  await alice.client.deactivate();
  await bob.client.deactivate();
});

test('presence: a join and a leave on B reach a presence subscriber on A; a second session on B of a user present on A is no join', async () => {
  const dest = `/topic/chat.${uid('events')}`;
  const alice = await connect(A, 'alice');
  await subscribed(alice.client, dest);
  const watcher = await connect(A);
  const { box, snapshot } = await watch(watcher.client, dest);
  assert.deepEqual(users(snapshot), { alice: 1 });
  const bob = await connect(B, 'bob');
  await subscribed(bob.client, dest);
  const [join] = (await box.take(2, 'the join of bob')).slice(1);
  assert.equal(join.headers.presence, 'join');
  assert.equal(join.headers.user, 'bob');
  const alice2 = await connect(B, 'alice');
  await subscribed(alice2.client, dest);
  await sleep(500);
  assert.equal(box.got.length, 2, 'alice on B is not a new join');
  await bob.client.deactivate();
  const [, , leave] = await box.take(3, 'the leave of bob');
  assert.equal(leave.headers.presence, 'leave');
  assert.equal(leave.headers.user, 'bob');
  const body = JSON.parse(leave.body);
  assert.deepEqual([body.user_count, body.session_count], [1, 2]);
  await alice2.client.deactivate();
  await sleep(500);
  assert.equal(box.got.length, 3, 'alice is still on A: no leave');
  await alice.client.deactivate();
  const [, , , last] = await box.take(4, 'the leave of alice');
  assert.deepEqual([last.headers.presence, last.headers.user], ['leave', 'alice']);
  await watcher.client.deactivate();
});

// Sessions of the churn case (PRESENCE_CHURN, default 1,000), opened BATCH at a time, half on
// each node: a quarter alice, a quarter bob, half anonymous (one user each).
const CHURN = Number(process.env.PRESENCE_CHURN || 1000);
const BATCH = 50;
const CHURN_USERS = 2 + Math.floor(CHURN / 2);

test(`presence: counts exact through ${CHURN} sessions over A and B joining then leaving`, async () => {
  const dest = `/topic/chat.${uid('churn')}`;
  const watcher = await connect(A);
  const { box } = await watch(watcher.client, dest);
  const sessions = [];
  for (let batch = 0; batch * BATCH < CHURN; batch++) {
    const made = await Promise.all(Array.from({ length: Math.min(BATCH, CHURN - batch * BATCH) }, async (_, j) => {
      const i = batch * BATCH + j;
      const login = i % 4 === 0 ? 'alice' : i % 4 === 1 ? 'bob' : undefined;
      const s = await connect(i % 2 ? B : A, login);
      await subscribed(s.client, dest);
      return s;
    }));
    sessions.push(...made);
  }
  const names = new Set(sessions.map((s) => s.user));
  assert.equal(names.size, CHURN_USERS, `alice, bob and ${CHURN_USERS - 2} anonymous users`);
  for (const [name, base] of [['A', A], ['B', B]]) {
    const probe = await connect(base);
    const s = await snapshotUntil(probe.client, dest,
      (x) => x.user_count === CHURN_USERS && x.session_count === CHURN, `${CHURN} sessions on ${name}`);
    const quarter = Math.ceil(CHURN / 4);
    assert.deepEqual([users(s).alice, users(s).bob], [quarter, Math.ceil((CHURN - 1) / 4)]);
    await probe.client.deactivate();
  }
  await Promise.all(sessions.map((s) => s.client.deactivate()));
  for (const [name, base] of [['A', A], ['B', B]]) {
    const probe = await connect(base);
    await snapshotUntil(probe.client, dest, (x) => x.users.length === 0 && x.session_count === 0,
      `empty on ${name}`);
    await probe.client.deactivate();
  }
  // The watcher on A saw each user join once and leave once, whatever node it was on.
  await box.take(1 + 2 * CHURN_USERS, 'every join and leave', 60000);
  const present = new Set();
  for (const m of box.got.slice(1)) {
    const { presence, user } = m.headers;
    if (presence === 'join') { assert.ok(!present.has(user), `${user} joined twice`); present.add(user); }
    else { assert.equal(presence, 'leave'); assert.ok(present.delete(user), `${user} left unseen`); }
  }
  assert.equal(present.size, 0);
  await sleep(300);
  assert.equal(box.got.length, 1 + 2 * CHURN_USERS, 'nothing more');
  await watcher.client.deactivate();
});

// The suite before this one stops and restarts RabbitMQ: wait until both nodes take clients.
for (const base of [A, B]) {
  const deadline = Date.now() + 30000;
  for (;;) {
    const ok = await connect(base).then((c) => c.client.deactivate().then(() => true), () => false);
    if (ok) break;
    if (Date.now() > deadline) { console.log(`FAIL ${base} takes no client`); process.exit(1); }
    await sleep(500);
  }
}

await runAll({ caseMs: 240000 });
