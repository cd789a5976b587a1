// What every relay suite script shares: bounded waits, unique names, running a command, and
// the case runner that prints one line per case and a summary, then exits non-zero on any
// failure.

import { execFile } from 'node:child_process';

/** Upper bound of a single wait. */
export const WAIT_MS = 10000;

let unique = 0;
/** A name no other case of this process uses. */
export const uid = (name) => `${name}-${process.pid}-${++unique}`;
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** `promise`, or a rejection naming `what` after `ms`. */
export function within(promise, what, ms = WAIT_MS) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Runs `cmd args` (2 minutes at most); its stdout. */
export function run(cmd, args) {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: 120000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(' ')}: ${err.message} ${stderr}`));
      else resolve(stdout);
    });
  });
}

/**
 * A list of cases: `test(name, fn)` adds one; `runAll` runs them in order, each bounded by
 * `caseMs`, prints `ok   NAME` or `FAIL NAME: why` (NAME after `namePrefix`), then
 * `SUMMARYPREFIXN passed, M failed`, and exits 1 on any failure.
 */
export function suite() {
  const cases = [];
  return {
    test: (name, fn) => cases.push([name, fn]),
    async runAll({ caseMs, namePrefix = '', summaryPrefix = '' }) {
      let passed = 0;
      let failed = 0;
      for (const [name, fn] of cases) {
        try {
          await within(fn(), name, caseMs);
          passed++;
          console.log(`ok   ${namePrefix}${name}`);
        } catch (e) {
          failed++;
          console.log(`FAIL ${namePrefix}${name}: ${e.message}`);
        }
      }
      console.log(`${summaryPrefix}${passed} passed, ${failed} failed`);
      process.exit(failed ? 1 : 0);
    },
  };
}
