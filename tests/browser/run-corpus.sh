#!/usr/bin/env bash
# The payload corpus, differential (issue 14, "Proof"): every payload of page/payloads.js (all
# of U+0000-U+FFFF in 4096-code-point messages, lone surrogates, astral pairs, U+2028/U+2029,
# `%` escapes and non-escapes, `</script>`, NUL, CR/LF, event-stream lines, quotes,
# backslashes, JSON-looking text, 64 KiB strings, the empty string) echoed over every
# sockjs-client 1.6.1 transport in headless Chromium, against four targets:
#   direct  our server (target/release/sockjs-server)
#   nginx   our server behind deploy/nginx.conf
#   apache  our server behind deploy/apache.conf
#   node    sockjs-node 0.3.24 (reference/server.js), the reference server
# Each echo must equal Payloads.expected(kind, payload) (page/payloads.js): the payload itself
# for node; for ours the payload with each lone surrogate as U+FFFD (a Rust String cannot
# hold one), and nothing else changed.
#
# Usage: tests/browser/run-corpus.sh [--transport NAME ...]     (from anywhere)
# Needs: target/release/sockjs-server (cargo build --release -p sockjs-server), /usr/bin/chromium,
#        nginx, apache2, python3, and `npm ci` done in tests/browser. Installs nothing
#        except `npm ci` in tests/browser/reference when its node_modules is missing.
# Environment: SOCKJS_SERVER (binary path; see tests/lib.sh); CORPUS_TARGETS (default
#              "direct nginx apache node"); CORPUS_PROBLEMS (differing messages printed per
#              failing case, default 8).
# Everything runs on 127.0.0.1 on free ports; pages, configs and logs go to target/corpus/;
# every process started here is stopped by pid on exit.
# Output: one line per target x transport (failures followed by the messages that differ;
# "known" where sockjs-node fails only by a defect listed in corpus.js's KNOWN, not counted),
# the table of failures, the cases where node passes and ours fails, and last
# "N passed, M failed"; exit status non-zero on any failure.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="$root/target/corpus"
www="$out/www"
read -r -a wanted <<<"${CORPUS_TARGETS:-direct nginx apache node}"

# shellcheck source=tests/lib.sh
. "$root/tests/lib.sh"
# shellcheck source=deploy/proxies.sh
. "$root/deploy/proxies.sh"
stop_tracked_on_exit

wants() { [[ " ${wanted[*]} " == *" $1 "* ]]; }

# start_ours LABEL PORT PUBLIC_URL: our server on PORT, serving $www, its iframe page loading
# the bundle from PUBLIC_URL (where the browser reaches this target).
start_ours() {
  "$server_bin" --bind "127.0.0.1:$2" --static-dir "$www" --sockjs-url "$3/sockjs.min.js" \
    --trusted-proxy 127.0.0.1 >"$out/server-$1.log" 2>&1 &
  track $!
  wait_listening "$2" $! || { echo "run-corpus.sh: see $out/server-$1.log" >&2; exit 1; }
}

bundle="$here/node_modules/sockjs-client/dist/sockjs.min.js"
if [[ ! -f "$bundle" || ! -d "$here/node_modules/playwright-core" ]]; then
  echo "run-corpus.sh: run 'npm ci' in tests/browser first" >&2
  exit 2
fi
if wants direct || wants nginx || wants apache; then
  server_bin="$(server_binary)"
fi
if wants node && [[ ! -d "$here/reference/node_modules/sockjs" ]]; then
  npm ci --prefix "$here/reference" --no-audit --no-fund --loglevel=error
fi

rm -rf "$out"
mkdir -p "$www"
cp "$here/page/corpus.html" "$here/page/payloads.js" "$bundle" "$www/"

targets=()
if wants direct; then
  port=$(free_port)
  start_ours direct "$port" "http://127.0.0.1:$port"
  targets+=(--target "direct,ours,http://127.0.0.1:$port")
fi
if wants nginx; then
  backend=$(free_port); listen=$(free_port)
  start_ours nginx "$backend" "http://127.0.0.1:$listen"
  start_nginx "$out/nginx" "$root/deploy/nginx.conf" "LISTEN=127.0.0.1:$listen" "BACKEND=127.0.0.1:$backend"
  targets+=(--target "nginx,ours,http://127.0.0.1:$listen")
fi
if wants apache; then
  backend=$(free_port); listen=$(free_port)
  start_ours apache "$backend" "http://127.0.0.1:$listen"
  start_apache "$out/apache" "$listen" "127.0.0.1:$backend"
  targets+=(--target "apache,ours,http://127.0.0.1:$listen")
fi
if wants node; then
  port=$(free_port)
  node "$here/reference/server.js" --port "$port" --www "$www" \
    --sockjs-url "http://127.0.0.1:$port/sockjs.min.js" >"$out/server-node.log" 2>&1 &
  track $!
  wait_listening "$port" $! || { echo "run-corpus.sh: see $out/server-node.log" >&2; exit 1; }
  targets+=(--target "node,node,http://127.0.0.1:$port")
fi
[[ ${#targets[@]} -gt 0 ]] || { echo "run-corpus.sh: no known target in CORPUS_TARGETS" >&2; exit 2; }

status=0
node "$here/corpus.js" "${targets[@]}" "$@" || status=$?
exit "$status"
