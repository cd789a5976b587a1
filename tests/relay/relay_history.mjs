// History and recovery through the relay (RabbitMQ streams; docs/stomp.md "History and
// recovery"): @stomp/stompjs over sockjs-client on two nodes started with --stomp-history.
// Usage: node relay_history.mjs HTTP_A HTTP_B TCP_A TCP_B   (HTTP_*: http://127.0.0.1:PORT)
// Prints one line per case and a final "N passed, M failed"; every wait is bounded.

import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { uid, sleep, within, run, suite } from './harness.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(join(here, '../clients/package.json'));
const { Client } = require('@stomp/stompjs');
const SockJS = require('sockjs-client');

const [A, B, , TCP_B] = process.argv.slice(2);
const N = 20; // messages missed while disconnected



const pySend = (port, dest, body, count = 1) =>
  run('python3', [join(here, 'relay_py.py'), String(port), dest, body, String(count)]);

async function connect(base) {
  const client = new Client({
    webSocketFactory: () => new SockJS(`${base}/stomp`, null, { transports: ['websocket'] }),
    reconnectDelay: 0,
    debug: () => {},
  });
  const connected = new Promise((resolve, reject) => {
    client.onConnect = resolve;
    client.onStompError = (f) => reject(new Error(`ERROR: ${f.headers.message}`));
    client.onWebSocketClose = () => reject(new Error('socket closed before CONNECTED'));
  });
  client.activate();
  await within(connected, 'CONNECTED');
  client.onWebSocketClose = () => {};
  client.onStompError = (f) => console.error(`  (ERROR: ${f.headers.message})`);
  return client;
}

// Subscribes with a receipt; resolves with the RECEIPT's headers and the inbox.
async function subscribe(client, destination, headers = {}) {
  const receipt = uid('sub');
  const done = new Promise((r) => client.watchForReceipt(receipt, r));
  const got = [];
  client.subscribe(destination, (m) => got.push(m), { ...headers, receipt });
  const frame = await within(done, `receipt for ${destination}`);
  const take = async (n, what = destination) => {
    await within((async () => { while (got.length < n) await sleep(20); })(), `${n} on ${what}`);
    return got.slice(0, n);
  };
  return { receipt: frame.headers, got, take };
}

const { test, runAll } = suite();

test(`recovery on another node: read 3 on A, miss ${N} sent via B, recover them on B, then live`, async () => {
  const dest = `/topic/hist.${uid('r')}`;
  const a = await connect(A);
  const first = await subscribe(a, dest);
  assert.ok(first.receipt.epoch && first.receipt.offset, `receipt ${JSON.stringify(first.receipt)}`);
  assert.equal(first.receipt.recovered, undefined);
  await pySend(TCP_B, dest, 'before', 3);
  const seen = await first.take(3);
  assert.deepEqual(seen.map((m) => m.body), ['before-0', 'before-1', 'before-2']);
  const offsets = seen.map((m) => Number(m.headers.offset));
  assert.ok(offsets[0] < offsets[1] && offsets[1] < offsets[2], `offsets ${offsets}`);
  const last = seen[2].headers;
  await a.deactivate();
  await pySend(TCP_B, dest, 'missed', N);
  const b = await connect(B);
  const again = await subscribe(b, dest, { 'recover-offset': last.offset, 'recover-epoch': last.epoch });
  assert.equal(again.receipt.recovered, 'true', `receipt ${JSON.stringify(again.receipt)}`);
  const replay = await again.take(N, 'the replay');
  assert.deepEqual(replay.map((m) => m.body), [...Array(N).keys()].map((i) => `missed-${i}`));
  await pySend(TCP_B, dest, 'live');
  const all = await again.take(N + 1, 'the live message');
  assert.equal(all[N].body, 'live');
  await sleep(300);
  assert.equal(again.got.length, N + 1, 'no duplicate');
  const o = again.got.map((m) => Number(m.headers.offset));
  assert.ok(o.every((x, i) => i === 0 || x > o[i - 1]), `increasing offsets ${o}`);
  assert.ok(o[0] > Number(last.offset));
  await b.deactivate();
});

test('a bogus epoch (or an offset past the end) is recovered:false with nothing replayed', async () => {
  const dest = `/topic/hist.${uid('bogus')}`;
  await pySend(TCP_B, dest, 'nobody-listens', 2); // no stream yet: dropped by RabbitMQ
  const a = await connect(A);
  await subscribe(a, dest);
  await pySend(TCP_B, dest, 'kept', 3);
  await sleep(300);
  for (const [offset, epoch] of [['2', 'bogus-epoch'], ['9999', 'bogus-epoch']]) {
    const b = await connect(B);
    const sub = await subscribe(b, dest, { 'recover-offset': offset, 'recover-epoch': epoch });
    assert.equal(sub.receipt.recovered, 'false', `receipt ${JSON.stringify(sub.receipt)}`);
    await pySend(TCP_B, dest, 'live');
    const got = await sub.take(1);
    await sleep(300);
    assert.deepEqual(sub.got.map((m) => m.body), ['live'], `${offset}: ${got.length}`);
    await b.deactivate();
  }
  await a.deactivate();
});

test('the receipt of a plain subscribe is a recovery point', async () => {
  const dest = `/topic/hist.${uid('point')}`;
  const a = await connect(A);
  const sub = await subscribe(a, dest);
  await a.deactivate();
  await pySend(TCP_B, dest, 'p', 2);
  const b = await connect(B);
  const again = await subscribe(b, dest, {
    'recover-offset': sub.receipt.offset, 'recover-epoch': sub.receipt.epoch,
  });
  assert.equal(again.receipt.recovered, 'true', `receipt ${JSON.stringify(again.receipt)}`);
  assert.deepEqual((await again.take(2)).map((m) => m.body), ['p-0', 'p-1']);
  await b.deactivate();
});

await runAll({ caseMs: 60000, summaryPrefix: 'relay_history: ' });
