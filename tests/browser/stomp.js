// STOMP in the browser: @stomp/stompjs over sockjs-client against the server's /stomp mount,
// alice and bob in two tabs (page/stomp.html). Used by matrix.js, which reports each case.
//
// The server must run with --stomp-user alice:pw --stomp-user bob:pw --stomp-heart-beat 1000
// (run.sh and deploy/test-proxies.sh start it so). Behind a balancer over several nodes each
// node has its own in-memory broker and the two tabs may land on different ones: with
// sharedBroker false the cases where one tab must hear the other are printed as skipped.
'use strict';

const fs = require('fs');
const path = require('path');

const USERS = { alice: 'pw', bob: 'pw' };
const HEART_BEAT_MS = 1000; // what the tabs offer, and what the server is started with
const IDLE_MS = 4000; // a few heart-beat periods with nothing else on the wire
const STEP_TIMEOUT_MS = 30000; // a hard cap per case on top of the page's own 10 s waits
const CROSS_TAB = true; // marks a case where one tab must hear the other (needs one broker)
const NOT_SHARED = 'several nodes, one broker each: alice and bob may be on different nodes';

function expect(cond, message) {
  if (!cond) throw new Error(message);
}

// Calls window[fn](...args) in the page.
function call(page, fn, ...args) {
  return page.evaluate(([f, a]) => window[f](...a), [fn, args]);
}

function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(what + ' took over ' + ms + ' ms')), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

// Runs the cases in order; each reports one line. A case failing leaves the next ones to
// fail on their own (e.g. "not connected") rather than skipping them silently.
async function runCases(cases, prefix, report, errors, sharedBroker) {
  for (const [name, fn, crossTab] of cases) {
    const started = Date.now();
    if (crossTab && !sharedBroker) {
      report(prefix + ' ' + name, started, { skip: NOT_SHARED });
      continue;
    }
    const seen = errors.length; // page errors before this case are not its own
    let result;
    try {
      await withTimeout(fn(), STEP_TIMEOUT_MS, name);
      result = { ok: true };
    } catch (err) {
      const own = errors.slice(seen);
      const pageErrors = own.length ? ' (page errors: ' + own.join('; ') + ')' : '';
      result = { ok: false, error: String(err && err.message || err).split('\n')[0] + pageErrors };
    }
    report(prefix + ' ' + name, started, result);
  }
}

// The STOMP cases over one sockjs-client transport, the tabs loaded from pageUrl.
async function runStomp(context, { base, pageUrl, transport, prefix, report, sharedBroker = true }) {
  const errors = [];
  const tabs = {};
  const room = 'room-' + transport + '-' + Date.now();
  const topic = '/topic/chat.' + room;
  for (const user of Object.keys(USERS)) {
    tabs[user] = await context.newPage();
    tabs[user].on('pageerror', (e) => errors.push(user + ': ' + e.message));
  }
  const { alice, bob } = tabs;
  const cases = [
    ['connect alice and bob, heart-beats negotiated', async () => {
      // Both tabs connect before anything is checked, so one bad answer leaves the other
      // tab usable for the next cases.
      const answers = {};
      for (const [user, page] of Object.entries(tabs)) {
        await page.goto(pageUrl, { waitUntil: 'load', timeout: 15000 });
        answers[user] = await call(page, 'stompConnect', base, transport, user, USERS[user], HEART_BEAT_MS)
          .catch((err) => ({ error: err.message.split('\n')[0] }));
      }
      for (const [user, c] of Object.entries(answers)) {
        expect(!c.error, user + ': ' + c.error);
        expect(c.transport === transport, user + ': sock.transport is ' + c.transport);
        expect(c.headers.version === '1.2', user + ': version ' + c.headers.version);
        expect(c.headers['user-name'] === user, user + ': user-name ' + c.headers['user-name']);
        const hb = HEART_BEAT_MS + ',' + HEART_BEAT_MS;
        expect(c.headers['heart-beat'] === hb, user + ': heart-beat ' + c.headers['heart-beat'] + ', wanted ' + hb);
      }
    }],
    ['chat through /topic/chat.{room}, each sees the other with sender', async () => {
      await call(alice, 'stompSubscribe', topic);
      await call(bob, 'stompSubscribe', topic);
      for (const [from, to] of [['alice', 'bob'], ['bob', 'alice']]) {
        const body = 'hi ' + to + ', ' + from + ' here 👋';
        await call(tabs[from], 'stompSend', '/app/chat/' + room, body);
        for (const reader of [to, from]) {
          const m = await call(tabs[reader], 'stompNext', topic);
          expect(m.body === body && m.headers.sender === from, reader + ' got ' +
            JSON.stringify(m.body) + ' from ' + m.headers.sender + ', wanted ' + JSON.stringify(body) + ' from ' + from);
        }
      }
    }, CROSS_TAB],
    ['/app/echo replies to the sender\'s /user/queue/echo only', async () => {
      await call(alice, 'stompSubscribe', '/user/queue/echo');
      await call(bob, 'stompSubscribe', '/user/queue/echo');
      await call(alice, 'stompSend', '/app/echo', 'echo for alice');
      const m = await call(alice, 'stompNext', '/user/queue/echo');
      expect(m.body === 'echo for alice', 'alice got ' + JSON.stringify(m.body));
      await call(bob, 'stompSend', '/topic/flush', ''); // one round trip for bob
      const leaked = await call(bob, 'stompPending', '/user/queue/echo');
      expect(leaked.length === 0, 'bob got alice\'s echo: ' + JSON.stringify(leaked));
    }],
    ['/app/whisper/bob reaches bob only', async () => {
      await call(alice, 'stompSubscribe', '/user/queue/whisper');
      await call(bob, 'stompSubscribe', '/user/queue/whisper');
      await call(alice, 'stompSend', '/app/whisper/bob', 'psst, bob');
      const m = await call(bob, 'stompNext', '/user/queue/whisper');
      expect(m.body === 'psst, bob' && m.headers.sender === 'alice',
        'bob got ' + JSON.stringify(m.body) + ' from ' + m.headers.sender);
      await call(alice, 'stompSend', '/topic/flush', '');
      const leaked = await call(alice, 'stompPending', '/user/queue/whisper');
      expect(leaked.length === 0, 'alice got her own whisper: ' + JSON.stringify(leaked));
    }, CROSS_TAB],
    ['idle ' + IDLE_MS / 1000 + 's with heart-beats flowing, still answering', async () => {
      const idle = await Promise.all([call(alice, 'stompIdle', IDLE_MS), call(bob, 'stompIdle', IDLE_MS)]);
      const least = Math.floor(IDLE_MS / HEART_BEAT_MS) - 1; // allow one period of timer slack
      for (const [i, s] of idle.entries()) {
        const user = i ? 'bob' : 'alice';
        expect(s.connected && !s.closed, user + ' lost the connection: ' + JSON.stringify(s));
        expect(s.lost === 0, user + ': stompjs saw heart-beats lost: ' + JSON.stringify(s));
        expect(s.pings >= least && s.pongs >= least, user + ': too few heart-beats in ' + IDLE_MS +
          ' ms (want >= ' + least + ' each way): ' + JSON.stringify(s));
      }
      for (const [user, page] of Object.entries(tabs)) {
        await call(page, 'stompSend', '/app/echo', user + ' still here');
        const m = await call(page, 'stompNext', '/user/queue/echo');
        expect(m.body === user + ' still here', 'after idling ' + user + ' got ' + JSON.stringify(m.body));
      }
    }],
    ['DISCONNECT with a receipt', async () => {
      for (const [user, page] of Object.entries(tabs)) {
        const receipt = 'bye-' + user;
        const d = await call(page, 'stompDisconnect', receipt);
        expect(d.command === 'RECEIPT' && d.receiptId === receipt && !d.connected,
          user + ': DISCONNECT gave ' + JSON.stringify(d));
      }
    }],
  ];
  try {
    await runCases(cases, prefix, report, errors, sharedBroker);
  } finally {
    for (const page of Object.values(tabs)) await page.close().catch(() => {});
  }
}

// The demo page's chat room: alice connects through the form and sends, bob (a test tab)
// answers in the same room (only with sharedBroker), a screenshot, then Disconnect shows the
// DISCONNECT receipt. clientUrl and stompUrl are the locally served bundles.
async function stompDemo(context, { base, pageUrl, clientUrl, stompUrl, file, sharedBroker = true }) {
  const page = await context.newPage();
  const bob = await context.newPage();
  const room = 'demo-' + Date.now();
  try {
    const query = '?client=' + encodeURIComponent(clientUrl) + '&stomp=' + encodeURIComponent(stompUrl);
    await page.goto(base + '/index.html' + query, { timeout: 15000 });
    await page.waitForFunction(() => typeof window.SockJS === 'function' && typeof window.StompJs === 'object',
      null, { timeout: 10000 });
    await page.fill('#stomp-name', 'alice');
    await page.fill('#stomp-pass', USERS.alice);
    await page.fill('#stomp-room', room);
    await page.click('#stomp-connect');
    await page.waitForSelector('#log .sys >> text=STOMP CONNECTED', { timeout: 10000 });
    const connected = await page.textContent('#log .sys >> text=STOMP CONNECTED');
    expect(/version 1\.2, heart-beat \d+,\d+, user-name alice/.test(connected), 'log shows ' + connected);
    await page.fill('#stomp-text', 'Hello from the demo page');
    await page.press('#stomp-text', 'Enter');
    await page.waitForSelector('#stomp-messages li >> text=Hello from the demo page', { timeout: 10000 });
    const mine = await page.textContent('#stomp-messages li:last-child .sender');
    expect(mine === 'alice', 'own message shown with sender ' + mine);
    if (sharedBroker) {
      await bob.goto(pageUrl, { timeout: 15000 });
      await call(bob, 'stompConnect', base, 'websocket', 'bob', USERS.bob, 0);
      await call(bob, 'stompSend', '/app/chat/' + room, 'Hi alice, bob here');
      await page.waitForSelector('#stomp-messages li >> text=Hi alice, bob here', { timeout: 10000 });
      const theirs = await page.textContent('#stomp-messages li:last-child .sender');
      expect(theirs === 'bob', 'bob\'s message shown with sender ' + theirs);
    }
    fs.mkdirSync(path.dirname(file), { recursive: true });
    await page.screenshot({ path: file, fullPage: true });
    await page.click('#stomp-disconnect');
    await page.waitForSelector('#log .sys >> text=STOMP disconnected, RECEIPT bye', { timeout: 10000 });
    return { ok: true };
  } catch (err) {
    return { ok: false, error: String(err && err.message || err).split('\n')[0] };
  } finally {
    await bob.close().catch(() => {});
    await page.close().catch(() => {});
  }
}

module.exports = { runStomp, stompDemo };
