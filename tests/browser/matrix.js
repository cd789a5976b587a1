#!/usr/bin/env node
// The browser matrix: headless Chromium (Debian's /usr/bin/chromium, driven by playwright-core)
// runs sockjs-client against a SockJS server, one forced transport at a time.
//
// Then the STOMP cases (stomp.js): @stomp/stompjs over sockjs-client, alice and bob in two tabs;
// then the web login cases (login.js): a page logged in with the site's cookie connects with
// the CSRF token only, another origin with the cookie but no token is refused; then the demo
// page's chat room in two tabs (room.js): who is in the room, a reconnecting tab's missed messages.
//
// Usage: node matrix.js --url BASE_URL --www DIR [--label NAME] [--screenshot FILE]
//                       [--stomp-screenshot FILE] [--login-screenshot FILE] [--room-screenshot FILE]
//                       [--stomp-brokers N] [--deflate-url WS_URL]
//   BASE_URL  where the server (or a proxy in front of it) answers, e.g. http://127.0.0.1:8080;
//             it must serve DIR at / (run.sh --prepare writes DIR) so the same-origin page exists.
//   DIR       the page directory: matrix.html, stomp.html, login.html, sockjs.min.js,
//             stomp.umd.min.js, index.html (the demo page).
//   NAME      a label printed on every line (direct, nginx, apache, ...).
//   FILE      where the demo page screenshots go (echo console, STOMP chat room, chat room
//             logged in, chat room after a reconnect with missed messages; each skipped when
//             not given).
//   N         brokers behind BASE_URL (default 1); above 1 (several nodes behind a balancer,
//             each with its own in-memory broker) the STOMP cases where one tab must hear the
//             other, the login cases (each node keeps its own logins) and the room cases, are printed as
//             "skip" lines and not counted.
//   WS_URL    a raw WebSocket echo on a server started with --permessage-deflate (e.g.
//             ws://127.0.0.1:8081/echo/websocket): Chromium must agree permessage-deflate with
//             it and get its echoes, short (sent plain) and long (compressed); skipped if not given.
// Every case prints one line; the last line is "N passed, M failed"; exit 1 on any failure.
'use strict';

const fs = require('fs');
const http = require('http');
const path = require('path');
const { chromium } = require('playwright-core');
const { runStomp, stompDemo } = require('./stomp');
const { runLogin, loginDemo } = require('./login');
const { runRoom } = require('./room');

const TRANSPORTS = [
  'websocket', 'xhr-streaming', 'xhr-polling', 'eventsource',
  'iframe-eventsource', 'iframe-htmlfile', 'iframe-xhr-polling', 'jsonp-polling',
];
// STOMP runs over the websocket and one HTTP streaming fallback.
const STOMP_TRANSPORTS = ['websocket', 'xhr-streaming'];
const CASE_TIMEOUT_MS = 60000; // a hard cap per case on top of the page's own waits
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'];

function parseArgs(argv) {
  const args = { label: 'direct' };
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i].replace(/^--/, '');
    if (!['url', 'www', 'label', 'screenshot', 'stomp-screenshot', 'login-screenshot', 'room-screenshot', 'stomp-brokers', 'deflate-url'].includes(key) || argv[i + 1] === undefined) {
      throw new Error('bad argument ' + argv[i] + ' (see the usage at the top of matrix.js)');
    }
    args[key] = argv[i + 1];
  }
  if (!args.url || !args.www) throw new Error('--url and --www are required');
  args.url = args.url.replace(/\/+$/, '');
  return args;
}

// A tiny static server on a free loopback port: the cross-origin page lives here.
function servePages(dir) {
  const types = { '.html': 'text/html; charset=utf-8', '.js': 'application/javascript' };
  const server = http.createServer((req, res) => {
    const name = path.basename(new URL(req.url, 'http://x').pathname) || 'matrix.html';
    const file = path.join(dir, name);
    fs.readFile(file, (err, body) => {
      if (err) { res.writeHead(404); res.end('not found'); return; }
      res.writeHead(200, { 'Content-Type': types[path.extname(file)] || 'application/octet-stream' });
      res.end(body);
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(what + ' took over ' + ms + ' ms')), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

// One case in a fresh page, so a stuck transport cannot leak into the next case.
async function runCase(context, pageUrl, fn, base, transport) {
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  try {
    await page.goto(pageUrl, { waitUntil: 'load', timeout: 15000 });
    const result = await withTimeout(
      page.evaluate(([f, b, t]) => window[f](b, t), [fn, base, transport]), CASE_TIMEOUT_MS, fn);
    if (!result.ok && errors.length) result.error += ' (page errors: ' + errors.join('; ') + ')';
    return result;
  } catch (err) {
    return { ok: false, error: err.message.split('\n')[0] };
  } finally {
    await page.close().catch(() => {});
  }
}

// The demo page served by the server itself: connect, echo one line, screenshot.
async function screenshotDemo(context, base, clientUrl, file) {
  const page = await context.newPage();
  try {
    await page.goto(base + '/index.html?client=' + encodeURIComponent(clientUrl), { timeout: 15000 });
    await page.waitForFunction(() => typeof window.SockJS === 'function', null, { timeout: 10000 });
    await page.selectOption('#service', '/echo');
    await page.selectOption('#transport', 'websocket');
    await page.click('#connect');
    await page.waitForSelector('#log .sys >> text=open', { timeout: 10000 });
    await page.fill('#text', 'Hello from the browser test 👋');
    await page.press('#text', 'Enter');
    await page.waitForSelector('#log .in >> text=Hello from the browser test', { timeout: 10000 });
    fs.mkdirSync(path.dirname(file), { recursive: true });
    await page.screenshot({ path: file, fullPage: true });
    return { ok: true };
  } catch (err) {
    return { ok: false, error: err.message.split('\n')[0] };
  } finally {
    await page.close().catch(() => {});
  }
}

// Chromium's own WebSocket (which always offers permessage-deflate) against WS_URL: the
// extension is agreed (ws.extensions) and a short and a long message come back as sent.
async function deflateCase(context, pageUrl, wsUrl) {
  const page = await context.newPage();
  try {
    await page.goto(pageUrl, { waitUntil: 'load', timeout: 15000 });
    return await withTimeout(page.evaluate((url) => new Promise((resolve) => {
      const sent = ['short', 'long, and compressed both ways: '.repeat(40) + '👋'];
      const got = [];
      const ws = new WebSocket(url);
      ws.onopen = () => {
        if (!ws.extensions.includes('permessage-deflate')) {
          resolve({ ok: false, error: 'extensions agreed: ' + JSON.stringify(ws.extensions) });
        }
        sent.forEach((m) => ws.send(m));
      };
      ws.onmessage = (e) => {
        got.push(e.data);
        if (got.length === sent.length) {
          ws.close();
          const ok = got.every((m, i) => m === sent[i]);
          resolve(ok ? { ok: true } : { ok: false, error: 'echoes differ: ' + got.map((m) => m.length) });
        }
      };
      ws.onerror = () => resolve({ ok: false, error: 'websocket error' });
    }), wsUrl), CASE_TIMEOUT_MS, 'deflate case');
  } catch (err) {
    return { ok: false, error: err.message.split('\n')[0] };
  } finally {
    await page.close().catch(() => {});
  }
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const pages = await servePages(args.www);
  const pagesUrl = 'http://127.0.0.1:' + pages.address().port;
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
  const context = await browser.newContext();
  let passed = 0;
  let failed = 0;
  const sharedBroker = Number(args['stomp-brokers'] || 1) === 1;
  const report = (name, started, result) => {
    const secs = ((Date.now() - started) / 1000).toFixed(1);
    if (result.skip) { console.log('skip ' + args.label + ' ' + name + ': ' + result.skip); return; }
    if (result.ok) passed++; else failed++;
    console.log((result.ok ? 'ok   ' : 'FAIL ') + args.label + ' ' + name + ' (' + secs + 's)' +
      (result.ok ? '' : ': ' + result.error + (result.log ? ' log=' + JSON.stringify(result.log.slice(-4)) : '')));
  };
  try {
    const origins = [
      ['same-origin', args.url],
      ['cross-origin', pagesUrl],
    ];
    for (const [origin, pages] of origins) {
      for (const transport of TRANSPORTS) {
        for (const fn of ['echoCase', 'closeCase']) {
          const started = Date.now();
          const result = await runCase(context, pages + '/matrix.html', fn, args.url, transport);
          report(origin + ' ' + transport + ' ' + (fn === 'echoCase' ? 'echo' : 'close'), started, result);
        }
      }
    }
    for (const [origin, pages] of origins) {
      for (const transport of STOMP_TRANSPORTS) {
        await runStomp(context, {
          base: args.url, pageUrl: pages + '/stomp.html', transport, prefix: origin + ' stomp ' + transport, report, sharedBroker,
        });
      }
    }
    // The login cases make browser contexts of their own: a login cookie in `context` would
    // make the CONNECTs above need a CSRF token.
    await runLogin(browser, {
      base: args.url, sameUrl: args.url + '/login.html', crossUrl: pagesUrl + '/login.html',
      prefix: 'login', report, sharedBroker,
    });
    // The demo page's room (presence, missed messages), two tabs in contexts of their own.
    await runRoom(browser, {
      base: args.url, clientUrl: args.url + '/sockjs.min.js', stompUrl: args.url + '/stomp.umd.min.js',
      prefix: 'demo room', report, sharedBroker, file: args['room-screenshot'],
    });
    {
      const started = Date.now();
      const result = args['deflate-url']
        ? await deflateCase(context, pagesUrl + '/matrix.html', args['deflate-url'])
        : { skip: 'no --deflate-url (a server with --permessage-deflate)' };
      report('permessage-deflate websocket echo', started, result);
    }
    if (args.screenshot) {
      const started = Date.now();
      const result = await screenshotDemo(context, args.url, args.url + '/sockjs.min.js', args.screenshot);
      report('demo page screenshot ' + path.relative(process.cwd(), args.screenshot), started, result);
    }
    if (args['stomp-screenshot']) {
      const file = args['stomp-screenshot'];
      const started = Date.now();
      const result = await stompDemo(context, {
        base: args.url, pageUrl: args.url + '/stomp.html', file,
        clientUrl: args.url + '/sockjs.min.js', stompUrl: args.url + '/stomp.umd.min.js', sharedBroker,
      });
      report('demo page STOMP chat screenshot ' + path.relative(process.cwd(), file), started, result);
    }
    if (args['login-screenshot']) {
      const file = args['login-screenshot'];
      const started = Date.now();
      const result = sharedBroker ? await loginDemo(browser, {
        base: args.url, file, clientUrl: args.url + '/sockjs.min.js', stompUrl: args.url + '/stomp.umd.min.js',
      }) : { skip: 'several nodes: each keeps its own logins' };
      report('demo page login and chat screenshot ' + path.relative(process.cwd(), file), started, result);
    }
  } finally {
    await browser.close().catch(() => {});
    pages.close();
  }
  console.log(passed + ' passed, ' + failed + ' failed');
  process.exitCode = failed ? 1 : 0;
}

main().catch((err) => {
  console.error('matrix.js: ' + (err && err.stack || err));
  process.exitCode = 2;
});
