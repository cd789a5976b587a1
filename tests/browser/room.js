// The demo page's chat room with presence and recovery (issue #17), in two tabs of the demo
// page itself (static/index.html, each in a browser context of its own): alice's tab and
// bob's tab each list who is in the room (/presence/topic/chat.ROOM) and see the other join
// and leave; alice goes away, bob says three things, alice comes back and shows exactly those
// three marked missed (recover-offset/recover-epoch from sessionStorage), then a live one;
// a reload of her tab recovers the same way; a stale epoch shows "some messages may be
// missing". Used by matrix.js, which reports each case.
//
// The server must run with the binary's default history and presence for /topic/chat. (no
// --stomp-history*/--stomp-presence flags, no --broker-relay) and --stomp-user alice:pw
// --stomp-user bob:pw (run.sh's STOMP_FLAGS). Behind several nodes (sharedBroker false) the
// two tabs may be on different nodes: every case is printed as skipped.
'use strict';

const fs = require('fs');
const path = require('path');

const USERS = { alice: 'pw', bob: 'pw' };
const WAIT_MS = 10000; // each wait in the page
const STEP_TIMEOUT_MS = 40000; // a hard cap per case
const NOT_SHARED = 'several nodes, one broker each: alice and bob may be on different nodes';

function expect(cond, message) {
  if (!cond) throw new Error(message);
}

function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(what + ' took over ' + ms + ' ms')), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

// The chat lines of a tab: { kind (class), sender, body }.
function lines(page) {
  return page.$$eval('#stomp-messages li', (items) => items.map((li) => ({
    kind: li.className,
    sender: (li.querySelector('.sender') || {}).textContent,
    body: li.childNodes[1] ? li.childNodes[1].textContent : '',
  })));
}

// Waits until `user` shows in the tab's presence list with `sessions` (null: absent).
function presenceShows(page, user, sessions) {
  return page.waitForFunction(([u, n]) => {
    const item = document.querySelector('#stomp-presence li[data-user="' + u + '"]');
    return n === null ? !item : !!item && item.dataset.sessions === String(n);
  }, [user, sessions], { timeout: WAIT_MS });
}

// Loads the demo page (its bundles from the server) and waits for both libraries.
async function load(page, url) {
  await page.goto(url, { timeout: 15000 });
  await page.waitForFunction(() => typeof window.SockJS === 'function' && typeof window.StompJs === 'object',
    null, { timeout: WAIT_MS });
}

// The form's Connect as `user` in `room` over websocket; waits for the status line.
async function connect(page, user, room) {
  await page.fill('#stomp-name', user);
  await page.fill('#stomp-pass', USERS[user]);
  await page.fill('#stomp-room', room);
  await page.selectOption('#transport', 'websocket');
  await page.click('#stomp-connect');
  await page.waitForSelector('#stomp-status >> text=' + user + ' in ' + room, { timeout: WAIT_MS });
}

async function disconnect(page) {
  await page.click('#stomp-disconnect');
  await page.waitForSelector('#stomp-status >> text=disconnected', { timeout: WAIT_MS });
}

// Types `text` into the tab's chat and waits until the tab shows it back (the server has
// published it).
async function say(page, text) {
  await page.fill('#stomp-text', text);
  await page.press('#stomp-text', 'Enter');
  await page.waitForSelector('#stomp-messages li >> text="' + text + '"', { timeout: WAIT_MS });
}

async function runRoom(browser, { base, clientUrl, stompUrl, prefix, report, file, sharedBroker = true }) {
  const room = 'room-' + Date.now();
  const url = base + '/index.html?client=' + encodeURIComponent(clientUrl) + '&stomp=' + encodeURIComponent(stompUrl);
  const errors = [];
  const contexts = [];
  const tabs = {};
  const bodies = (all) => all.map((l) => l.body);
  const cases = [
    ['alice and bob in one room: each lists both, with session counts; bob\'s join is live', async () => {
      for (const user of Object.keys(USERS)) {
        const context = await browser.newContext();
        contexts.push(context);
        tabs[user] = await context.newPage();
        tabs[user].on('pageerror', (e) => errors.push(user + ': ' + e.message));
        await load(tabs[user], url);
      }
      const { alice, bob } = tabs;
      await connect(alice, 'alice', room);
      await presenceShows(alice, 'alice', 1);
      await connect(bob, 'bob', room);
      for (const page of [alice, bob]) {
        await presenceShows(page, 'alice', 1);
        await presenceShows(page, 'bob', 1);
      }
      const count = await bob.textContent('#stomp-presence-count');
      expect(count === '(2 users, 2 sessions)', 'bob\'s tab says ' + count);
    }],
    ['alice disconnects: bob\'s list shows her leave', async () => {
      const { alice, bob } = tabs;
      await say(alice, 'before the break');
      await bob.waitForSelector('#stomp-messages li >> text="before the break"', { timeout: WAIT_MS });
      await disconnect(alice);
      await presenceShows(bob, 'alice', null);
      await presenceShows(bob, 'bob', 1);
    }],
    ['bob says 3 while alice is away; she reconnects: exactly those 3 missed, then a live one', async () => {
      const { alice, bob } = tabs;
      const missed = ['missed one', 'missed two', 'missed three'];
      for (const text of missed) await say(bob, text);
      await connect(alice, 'alice', room);
      await alice.waitForSelector('#log .sys >> text=recovered 3 missed message(s), recovered:true', { timeout: WAIT_MS });
      await presenceShows(bob, 'alice', 1);
      await say(bob, 'live again');
      await alice.waitForSelector('#stomp-messages li >> text="live again"', { timeout: WAIT_MS });
      const shown = await lines(alice);
      expect(JSON.stringify(bodies(shown)) === JSON.stringify(['before the break', ...missed, 'live again']),
        'alice\'s tab shows ' + JSON.stringify(shown));
      const marked = shown.filter((l) => l.kind === 'missed');
      expect(JSON.stringify(bodies(marked)) === JSON.stringify(missed) && marked.every((l) => l.sender === 'bob'),
        'marked missed: ' + JSON.stringify(marked));
      expect(!shown.some((l) => l.kind === 'gap'), 'a "some messages may be missing" line: ' + JSON.stringify(shown));
      if (file) {
        fs.mkdirSync(path.dirname(file), { recursive: true });
        await alice.screenshot({ path: file, fullPage: true });
      }
    }],
    ['alice reloads her tab: sessionStorage keeps her place, the 2 said meanwhile come back missed', async () => {
      const { alice, bob } = tabs;
      await alice.reload({ timeout: 15000 });
      await alice.waitForFunction(() => typeof window.SockJS === 'function' && typeof window.StompJs === 'object',
        null, { timeout: WAIT_MS });
      await presenceShows(bob, 'alice', null); // the reload closed her socket
      for (const text of ['while reloading 1', 'while reloading 2']) await say(bob, text);
      await connect(alice, 'alice', room);
      await alice.waitForSelector('#log .sys >> text=recovered 2 missed message(s), recovered:true', { timeout: WAIT_MS });
      const shown = await lines(alice);
      expect(JSON.stringify(shown.map((l) => [l.kind, l.body])) ===
        JSON.stringify([['missed', 'while reloading 1'], ['missed', 'while reloading 2']]),
      'after the reload alice\'s tab shows ' + JSON.stringify(shown));
    }],
    ['a stale epoch in sessionStorage: "some messages may be missing", nothing replayed', async () => {
      const { alice, bob } = tabs;
      await disconnect(alice);
      await say(bob, 'said to a stranger');
      await alice.evaluate((r) => sessionStorage.setItem('sockjs-demo.chat-seen.' + r,
        JSON.stringify({ epoch: 'stale-epoch', offset: 1 })), room);
      const before = (await lines(alice)).length;
      await connect(alice, 'alice', room);
      await alice.waitForSelector('#stomp-messages li.gap >> text=some messages may be missing', { timeout: WAIT_MS });
      await say(bob, 'after the gap');
      await alice.waitForSelector('#stomp-messages li >> text="after the gap"', { timeout: WAIT_MS });
      const added = (await lines(alice)).slice(before);
      expect(JSON.stringify(added.map((l) => [l.kind, l.body])) ===
        JSON.stringify([['gap', 'some messages may be missing'], ['', 'after the gap']]),
      'after a stale epoch alice\'s tab added ' + JSON.stringify(added));
    }],
  ];
  try {
    for (const [name, fn] of cases) {
      const started = Date.now();
      if (!sharedBroker) {
        report(prefix + ' ' + name, started, { skip: NOT_SHARED });
        continue;
      }
      const seen = errors.length;
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
  } finally {
    for (const context of contexts) await context.close().catch(() => {});
  }
}

module.exports = { runRoom };
