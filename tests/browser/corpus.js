#!/usr/bin/env node
// The payload corpus, differential: headless Chromium (Debian's /usr/bin/chromium, driven by
// playwright-core) echoes every payload of page/payloads.js over every sockjs-client transport
// against one or more SockJS servers, and checks that each echo equals
// Payloads.expected(server kind, payload), in order.
//
// Usage: node corpus.js --target LABEL,KIND,URL [--target ...] [--transport NAME ...]
//   LABEL  a name printed on every line (direct, nginx, apache, node, ...)
//   KIND   whose expectation applies: ours (lone surrogates become U+FFFD) or node (exact)
//   URL    where the server answers, e.g. http://127.0.0.1:8080; it must serve corpus.html,
//          payloads.js and sockjs.min.js at / and the echo service at /echo
//   NAME   only this transport (repeatable; default: all eight)
// Targets run one after the other, each transport in a fresh page. Prints one line per
// target x transport (failures followed by the messages that differ; "known" for a case that
// fails exactly as a KNOWN defect of the reference says), a table, where a `node` target
// passes and an `ours` target fails, and last "N passed, M failed"; exit 1 on any failure.
'use strict';

const { chromium } = require('playwright-core');

const TRANSPORTS = [
  'websocket', 'xhr-streaming', 'xhr-polling', 'eventsource',
  'iframe-eventsource', 'iframe-htmlfile', 'iframe-xhr-polling', 'jsonp-polling',
];
const KINDS = ['ours', 'node'];
const CASE_TIMEOUT_MS = 90000; // a hard cap per case on top of the page's own waits
const PROBLEMS_SHOWN = Number(process.env.CORPUS_PROBLEMS || 8); // differing messages printed per failing case
const NOTES_SHOWN = 4; // notes (session closed, stalled, page errors) printed per case
// Defects of the reference server itself. A case that fails only so (some of these messages
// lost, every other one echoed equal, no note but the listed ones) is printed as "known", with
// the reason, and counted neither as passed nor as failed; failing in any other way it is a
// failure like any other.
const KNOWN = [{
  kind: 'node',
  transport: 'iframe-htmlfile',
  lost: ['</script>', '</SCRIPT >', 'script injection', '<!-- <script>', '-->', '64 KiB mixed'],
  notes: /^(a payload ran as script|page errors: .*)$/,
  why: 'sockjs-node 0.3.24 writes each frame into the htmlfile <script> block as JSON.stringify ' +
    'gives it, so "</script" ends the block (and the rest runs as script) and "<!--<script" ' +
    'swallows what follows up to "-->"',
}];
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'];

function parseArgs(argv) {
  const args = { targets: [], transports: [] };
  for (let i = 0; i < argv.length; i += 2) {
    const value = argv[i + 1];
    if (value === undefined) throw new Error(argv[i] + ' needs a value');
    if (argv[i] === '--target') {
      const [label, kind, ...url] = value.split(',');
      if (!KINDS.includes(kind) || !url.length) throw new Error('--target wants LABEL,ours|node,URL, got ' + value);
      args.targets.push({ label, kind, url: url.join(',').replace(/\/+$/, '') });
    } else if (argv[i] === '--transport') {
      if (!TRANSPORTS.includes(value)) throw new Error('unknown transport ' + value);
      args.transports.push(value);
    } else {
      throw new Error('bad argument ' + argv[i] + ' (see the usage at the top of corpus.js)');
    }
  }
  if (!args.targets.length) throw new Error('at least one --target is required');
  if (!args.transports.length) args.transports = TRANSPORTS;
  return args;
}

function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(what + ' took over ' + ms + ' ms')), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

// One target x transport in a fresh page (served by the target itself: same origin).
async function runCase(context, target, transport) {
  const page = await context.newPage();
  const errors = new Set();
  page.on('pageerror', (e) => errors.add(e.message.split('\n')[0]));
  try {
    await page.goto(target.url + '/corpus.html', { waitUntil: 'load', timeout: 15000 });
    const result = await withTimeout(
      page.evaluate(([b, t, k]) => window.corpusCase(b, t, k), [target.url, transport, target.kind]),
      CASE_TIMEOUT_MS, 'corpusCase');
    if (errors.size) result.notes.push('page errors: ' + [...errors].slice(0, 3).join('; '));
    return result;
  } catch (err) {
    return { ok: false, messages: 0, bad: 0, badNames: [], notes: [err.message.split('\n')[0]], problems: [] };
  } finally {
    await page.close().catch(() => {});
  }
}

// The KNOWN entry that explains all of this failed result, if any.
function knownDefect(target, transport, result) {
  return KNOWN.find((k) => !result.ok && k.kind === target.kind && k.transport === transport &&
    result.badNames.length > 0 && result.badNames.every((n) => k.lost.includes(n)) &&
    result.notes.every((n) => k.notes.test(n)));
}

function summary(result) {
  if (result.ok) return result.messages + ' messages echoed equal';
  const parts = [];
  if (result.bad) parts.push(result.bad + ' of ' + result.messages + ' messages differ');
  const notes = result.notes.length > NOTES_SHOWN
    ? result.notes.slice(0, NOTES_SHOWN).concat((result.notes.length - NOTES_SHOWN) + ' more note(s)') : result.notes;
  return parts.concat(notes).join('; ');
}

// The table: one row per transport, one column per target.
function table(targets, transports, results) {
  const cell = (r) => (r.ok ? 'ok' : (r.known ? 'known ' : 'FAIL ') + (r.bad || '-'));
  const rows = [['transport'].concat(targets.map((t) => t.label + ' (' + t.kind + ')'))];
  for (const transport of transports) {
    rows.push([transport].concat(targets.map((t) => cell(results.get(t.label + ' ' + transport)))));
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
  return rows.map((row) => row.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd());
}

// Where a node target passes and an ours target fails: our bugs, by construction.
function differential(targets, transports, results) {
  const lines = [];
  const nodes = targets.filter((t) => t.kind === 'node');
  for (const transport of transports) {
    const nodeOk = nodes.some((t) => results.get(t.label + ' ' + transport).ok);
    if (!nodeOk) continue;
    for (const t of targets.filter((x) => x.kind === 'ours')) {
      const r = results.get(t.label + ' ' + transport);
      if (!r.ok) lines.push(t.label + ' ' + transport + ': ' + summary(r));
    }
  }
  return lines;
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const started = Date.now();
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
  const context = await browser.newContext();
  const results = new Map();
  let passed = 0;
  let failed = 0;
  let known = 0;
  try {
    for (const target of args.targets) {
      for (const transport of args.transports) {
        const started = Date.now();
        const result = await runCase(context, target, transport);
        const defect = knownDefect(target, transport, result);
        result.known = Boolean(defect);
        results.set(target.label + ' ' + transport, result);
        if (result.ok) passed++; else if (defect) known++; else failed++;
        const secs = ((Date.now() - started) / 1000).toFixed(1);
        const verdict = result.ok ? 'ok   ' : defect ? 'known ' : 'FAIL ';
        console.log(verdict + target.label + ' ' + transport + ': ' + summary(result) + ' (' + secs + 's)');
        if (defect) console.log('       the reference\'s own defect: ' + defect.why);
        for (const line of result.problems.slice(0, PROBLEMS_SHOWN)) console.log('       ' + line);
        if (result.problems.length > PROBLEMS_SHOWN) console.log('       ... and ' + (result.problems.length - PROBLEMS_SHOWN) + ' more');
      }
    }
  } finally {
    await browser.close().catch(() => {});
  }
  console.log('\n== failures per server x transport (FAIL n: n of the messages did not arrive as sent; ' +
    'FAIL -: the case failed otherwise, see its line; known n: a known defect of the reference)');
  for (const line of table(args.targets, args.transports, results)) console.log(line);
  if (args.targets.some((t) => t.kind === 'node') && args.targets.some((t) => t.kind === 'ours')) {
    const ours = differential(args.targets, args.transports, results);
    console.log('\n== node passes, ours fails: ' + (ours.length ? ours.length + ' case(s)' : 'none'));
    for (const line of ours) console.log(line);
  }
  console.log('\ncorpus took ' + Math.round((Date.now() - started) / 1000) + 's' +
    (known ? '; ' + known + ' case(s) failed by a known defect of the reference, not counted' : ''));
  console.log(passed + ' passed, ' + failed + ' failed');
  process.exitCode = failed ? 1 : 0;
}

main().catch((err) => {
  console.error('corpus.js: ' + (err && err.stack || err));
  process.exitCode = 2;
});
