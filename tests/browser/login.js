// The web login in the browser (issue #16): a page logs in with the site's form
// (POST /login sets the HttpOnly, SameSite=Lax cookie), reads the CSRF token from
// /stomp/csrf, and connects @stomp/stompjs over sockjs-client with only that token; it is the
// logged-in user. A page of another origin of the same site (matrix.js's page server on
// another port of 127.0.0.1) has the cookie but cannot read the token, so its CONNECT is
// refused; a wrong token is refused too. Then the demo page's own login form and chat.
// Used by matrix.js, which reports each case.
//
// The server must run with --stomp-user alice:pw --stomp-user bob:pw (run.sh's STOMP_FLAGS),
// so the login is not open. Each login runs in a browser context of its own (its own cookie
// jar), so the STOMP cases that CONNECT with login/passcode never carry a login cookie.
'use strict';

const fs = require('fs');
const path = require('path');

const USERS = { alice: 'pw', bob: 'pw' };
const TRANSPORTS = ['websocket', 'xhr-streaming'];
const CSRF_HEADER = 'X-CSRF-TOKEN';
const STEP_TIMEOUT_MS = 30000; // a hard cap per case on top of the page's own 10 s waits
const NOT_SHARED = 'several nodes: each keeps its own logins, a login on one is unknown to the other';

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

// A refused CONNECT: an ERROR frame whose message matches `pattern`, then the close.
function expectRefused(answer, pattern, who) {
  expect(answer.command === 'ERROR', who + ': wanted an ERROR frame, got ' + JSON.stringify(answer));
  expect(pattern.test(answer.headers.message || ''), who + ': ERROR message ' +
    JSON.stringify(answer.headers.message) + ', wanted ' + pattern);
  expect(answer.closed, who + ': the connection stayed open after the ERROR');
}

// A fresh browser context (cookie jar) with one tab on pageUrl, logged in as `user`.
async function loggedIn(browser, pageUrl, user, errors) {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.on('pageerror', (e) => errors.push(user + ': ' + e.message));
  await page.goto(pageUrl, { waitUntil: 'load', timeout: 15000 });
  const login = await call(page, 'loginPost', user, USERS[user]);
  expect(!login.failed && login.status === 200, user + ': login answered ' + JSON.stringify(login));
  expect(!login.cookieVisible, user + ': the login cookie is readable by scripts (not HttpOnly)');
  const me = await call(page, 'loginMe');
  expect(me.name === user && me.open === false, user + ': GET /me answered ' + JSON.stringify(me));
  return { context, page };
}

// The cases, in order; each reports one line. base is the server, sameUrl/crossUrl the
// login page served same-origin and cross-origin.
async function runLogin(browser, { base, sameUrl, crossUrl, prefix, report, sharedBroker = true }) {
  const errors = [];
  const contexts = [];
  let alice = null; // { context, page } logged in as alice, same origin
  let token = null;
  const tabs = {}; // transport -> alice's tab connected over it
  const cases = [
    ['a wrong password is refused (303 to /?login=failed, no cookie)', async () => {
      const context = await browser.newContext();
      contexts.push(context);
      const page = await context.newPage();
      await page.goto(sameUrl, { waitUntil: 'load', timeout: 15000 });
      const login = await call(page, 'loginPost', 'alice', 'wrong');
      expect(login.failed, 'login answered ' + JSON.stringify(login));
      const me = await call(page, 'loginMe');
      expect(me.name === null, 'GET /me answered ' + JSON.stringify(me));
      const csrf = await call(page, 'loginCsrf', base);
      expect(csrf.status === 401, 'GET /stomp/csrf without a login answered ' + JSON.stringify(csrf));
    }],
    ['alice logs in (HttpOnly cookie), GET /me and /stomp/csrf know her', async () => {
      alice = await loggedIn(browser, sameUrl, 'alice', errors);
      contexts.push(alice.context);
      const csrf = await call(alice.page, 'loginCsrf', base);
      expect(csrf.status === 200 && csrf.body && csrf.body.headerName === CSRF_HEADER &&
        csrf.body.parameterName === '_csrf' && typeof csrf.body.token === 'string' && csrf.body.token.length >= 32,
      'GET /stomp/csrf answered ' + JSON.stringify(csrf));
      token = csrf.body.token;
    }],
    ...TRANSPORTS.map((transport) => [
      transport + ': CONNECT with the token only is alice', async () => {
        expect(alice && token, 'not logged in');
        const page = transport === TRANSPORTS[0] ? alice.page : await alice.context.newPage();
        if (page !== alice.page) {
          page.on('pageerror', (e) => errors.push('alice ' + transport + ': ' + e.message));
          await page.goto(sameUrl, { waitUntil: 'load', timeout: 15000 });
        }
        const answer = await call(page, 'loginConnect', base, transport, { [CSRF_HEADER]: token });
        expect(answer.command === 'CONNECTED', 'CONNECT answered ' + JSON.stringify(answer));
        expect(answer.transport === transport, 'sock.transport is ' + answer.transport);
        expect(answer.headers['user-name'] === 'alice', 'user-name ' + answer.headers['user-name']);
        await call(page, 'loginSubscribe', '/user/queue/whisper');
        await call(page, 'loginSubscribe', '/user/queue/errors');
        tabs[transport] = page;
      }]),
    ['a whisper to alice reaches both of her tabs, sender alice', async () => {
      expect(TRANSPORTS.every((t) => tabs[t]), 'a tab is not connected');
      await call(tabs[TRANSPORTS[0]], 'loginSend', '/app/whisper/alice', 'a note to myself');
      for (const transport of TRANSPORTS) {
        const m = await call(tabs[transport], 'loginNext', '/user/queue/whisper');
        expect(m.body === 'a note to myself' && m.headers.sender === 'alice',
          transport + ' tab got ' + JSON.stringify(m.body) + ' from ' + m.headers.sender);
      }
    }],
    ['an unknown /app/command goes to /user/queue/errors and the connection stays', async () => {
      const page = tabs[TRANSPORTS[0]];
      expect(page, 'not connected');
      await call(page, 'loginSend', '/app/command', '/nosuch thing');
      const m = await call(page, 'loginNext', '/user/queue/errors');
      expect(/unknown command/.test(m.body), 'errors queue got ' + JSON.stringify(m));
      expect(await call(page, 'loginConnected'), 'the connection closed after the error');
      await call(page, 'loginSend', '/app/whisper/alice', 'still here');
      const again = await call(page, 'loginNext', '/user/queue/whisper');
      expect(again.body === 'still here', 'after the error got ' + JSON.stringify(again.body));
    }],
    ...TRANSPORTS.map((transport) => [
      transport + ': a wrong token is refused (ERROR, closed)', async () => {
        expect(alice, 'not logged in');
        const page = await alice.context.newPage();
        try {
          await page.goto(sameUrl, { waitUntil: 'load', timeout: 15000 });
          const wrong = await call(page, 'loginConnect', base, transport, { [CSRF_HEADER]: 'x' + token.slice(1) });
          expectRefused(wrong, /invalid CSRF token/, 'a token off by one character');
          const none = await call(page, 'loginConnect', base, transport, {});
          expectRefused(none, /missing CSRF token/, 'no token');
        } finally {
          await page.close().catch(() => {});
        }
      }]),
    ['bob\'s token with alice\'s cookie is refused', async () => {
      expect(alice, 'not logged in');
      const bob = await loggedIn(browser, sameUrl, 'bob', errors);
      contexts.push(bob.context);
      const csrf = await call(bob.page, 'loginCsrf', base);
      expect(csrf.status === 200 && csrf.body.token !== token, 'bob\'s GET /stomp/csrf answered ' + JSON.stringify(csrf));
      const page = await alice.context.newPage();
      try {
        await page.goto(sameUrl, { waitUntil: 'load', timeout: 15000 });
        const answer = await call(page, 'loginConnect', base, 'websocket', { [CSRF_HEADER]: csrf.body.token });
        expectRefused(answer, /invalid CSRF token/, 'bob\'s token');
      } finally {
        await page.close().catch(() => {});
      }
    }],
    ['another origin with alice\'s cookie cannot read /stomp/csrf (CORS)', async () => {
      expect(alice, 'not logged in');
      const page = await alice.context.newPage();
      try {
        await page.goto(crossUrl, { waitUntil: 'load', timeout: 15000 });
        const csrf = await call(page, 'loginCsrf', base);
        expect(csrf.error && /TypeError/.test(csrf.error), 'cross-origin GET /stomp/csrf answered ' + JSON.stringify(csrf));
      } finally {
        await page.close().catch(() => {});
      }
    }],
    ...TRANSPORTS.map((transport) => [
      transport + ': another origin with alice\'s cookie, no token: CONNECT refused', async () => {
        expect(alice, 'not logged in');
        const page = await alice.context.newPage();
        try {
          await page.goto(crossUrl, { waitUntil: 'load', timeout: 15000 });
          // The cookie went along (same site): the session is alice, who must show the token;
          // her password in CONNECT does not replace it.
          const bare = await call(page, 'loginConnect', base, transport, {});
          expectRefused(bare, /missing CSRF token/, 'no credentials');
          const password = await call(page, 'loginConnect', base, transport, { login: 'alice', passcode: USERS.alice });
          expectRefused(password, /missing CSRF token/, 'alice\'s password');
        } finally {
          await page.close().catch(() => {});
        }
      }]),
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
    for (const page of Object.values(tabs)) await call(page, 'loginDisconnect').catch(() => {});
    for (const context of contexts) await context.close().catch(() => {});
  }
}

// The demo page (index.html) logged in through its own form: the chat connects as alice
// with the token, a whisper to herself arrives, /nosuch shows an error line and the chat goes
// on; a screenshot; then Log out. clientUrl and stompUrl are the locally served bundles.
async function loginDemo(browser, { base, clientUrl, stompUrl, file }) {
  const context = await browser.newContext();
  const page = await context.newPage();
  try {
    const query = '?client=' + encodeURIComponent(clientUrl) + '&stomp=' + encodeURIComponent(stompUrl);
    await page.goto(base + '/index.html' + query, { timeout: 15000 });
    await page.waitForFunction(() => typeof window.SockJS === 'function' && typeof window.StompJs === 'object',
      null, { timeout: 10000 });
    await page.fill('#login-user', 'alice');
    await page.fill('#login-pass', USERS.alice);
    await page.click('#login-button');
    await page.waitForSelector('#whoami >> text=alice', { timeout: 10000 });
    expect(await page.isHidden('#stomp-credentials'), 'the STOMP login fields still show when logged in');
    await page.selectOption('#transport', 'websocket');
    await page.click('#stomp-connect');
    await page.waitForSelector('#log .sys >> text=STOMP CONNECTED', { timeout: 10000 });
    const connected = await page.textContent('#log .sys >> text=STOMP CONNECTED');
    expect(/user-name alice/.test(connected), 'log shows ' + connected);
    const shown = await page.textContent('#log');
    expect(!shown.includes('passcode:') || /passcode:\(hidden\)/.test(shown), 'a passcode shows in the log');
    expect(/X-CSRF-TOKEN:\(hidden\)/i.test(shown), 'CONNECT in the log does not show the token header hidden');
    await page.fill('#stomp-text', '/w alice a note to myself');
    await page.press('#stomp-text', 'Enter');
    await page.waitForSelector('#stomp-messages li.whisper .sender >> text="alice (whisper)"', { timeout: 10000 });
    await page.fill('#stomp-text', '/nosuch');
    await page.press('#stomp-text', 'Enter');
    await page.waitForSelector('#stomp-messages li.error >> text=unknown command', { timeout: 10000 });
    await page.fill('#stomp-text', 'the chat goes on');
    await page.press('#stomp-text', 'Enter');
    await page.waitForSelector('#stomp-messages li >> text=the chat goes on', { timeout: 10000 });
    const sender = await page.textContent('#stomp-messages li:last-child .sender');
    expect(sender === 'alice', 'own message shown with sender ' + sender);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    await page.screenshot({ path: file, fullPage: true });
    await page.click('#logout-button');
    await page.waitForSelector('#login-form:not([hidden])', { timeout: 10000 });
    await page.waitForSelector('#stomp-status >> text=disconnected', { timeout: 10000 });
    return { ok: true };
  } catch (err) {
    return { ok: false, error: String(err && err.message || err).split('\n')[0] };
  } finally {
    await context.close().catch(() => {});
  }
}

module.exports = { runLogin, loginDemo };
