#!/usr/bin/env bash
# Browser matrix: headless Chromium + sockjs-client against sockjs-server, every transport,
# page served same-origin (by the server) and cross-origin (by matrix.js on another port);
# then STOMP (@stomp/stompjs over sockjs-client, alice and bob in two tabs) at /stomp; then the
# web login (login.js: POST /login's cookie + the /stomp/csrf token, no STOMP credentials); then
# the demo page's chat room in two tabs (room.js: who is in the room, and the messages a
# reconnecting tab missed; needs the binary's default history and presence on /topic/chat.).
#
# Usage (from anywhere; needs /usr/bin/chromium, `npm ci` done in tests/browser, and a release
# build of sockjs-server: cargo build --release -p sockjs-server):
#   tests/browser/run.sh                      start target/release/sockjs-server on a free port
#                                             with --static-dir target/browser/www and the
#                                             STOMP users and heart-beat below, and run the
#                                             matrix against it ("direct"), and a second
#                                             one with --permessage-deflate for the deflate
#                                             case (Chromium's own WebSocket on /echo/websocket)
#   tests/browser/run.sh --prepare            only (re)write target/browser/www and print its path
#   tests/browser/run.sh --url URL [--label NAME]
#                                             run the matrix against a server already answering
#                                             at URL (e.g. through a proxy); that server must
#                                             serve target/browser/www at / (see --prepare) and
#                                             use a --sockjs-url pointing at its sockjs.min.js,
#                                             and $STOMP_FLAGS (see below) for the STOMP cases
# Environment: SOCKJS_SERVER (binary, default target/release/sockjs-server; see tests/lib.sh);
#              STOMP_BROKERS (nodes with their own in-memory broker behind URL; default 1,
#              but 2 for --label two-nodes, deploy/test-proxies.sh part 3): above 1 the STOMP
#              cases where one tab must hear the other are printed as skipped.
# Output: one line per case, then "N passed, M failed"; exit status non-zero on any failure.
# The demo page screenshots go to target/browser/demo-NAME.png (echo console) and
# target/browser/demo-stomp-NAME.png (STOMP chat room) and target/browser/demo-login-NAME.png
# (the chat room logged in through the page's login form) and target/browser/demo-room-NAME.png
# (the chat room after a reconnect, the missed messages marked).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
www="$root/target/browser/www"

# The server flags the STOMP cases (stomp.js) need: its logins and a short heart-beat (the
# login cases, login.js, need these users too: with none the demo login is open).
# deploy/test-proxies.sh starts its servers with the same flags.
STOMP_FLAGS=(--stomp-user alice:pw --stomp-user bob:pw --stomp-heart-beat 1000)

# target/browser/www = the demo page(s) from static/ + the test pages + the local client bundles.
prepare_www() {
  local bundle="$here/node_modules/sockjs-client/dist/sockjs.min.js"
  local stomp_bundle="$here/node_modules/@stomp/stompjs/bundles/stomp.umd.min.js"
  if [[ ! -f "$bundle" || ! -f "$stomp_bundle" ]]; then
    echo "run.sh: $bundle or $stomp_bundle missing: run 'npm ci' in tests/browser first" >&2
    exit 2
  fi
  rm -rf "$www"
  mkdir -p "$www"
  cp -R "$root/static/." "$www/"
  cp "$here/page/matrix.html" "$here/page/stomp.html" "$here/page/login.html" "$bundle" "$stomp_bundle" "$www/"
}

# shellcheck source=tests/lib.sh
. "$root/tests/lib.sh"

url=""
label=""
case "${1:-}" in
  --prepare) prepare_www; echo "$www"; exit 0 ;;
  --url) url="${2:?--url needs a value}"; shift 2
         if [[ "${1:-}" == "--label" ]]; then label="${2:?--label needs a value}"; fi ;;
  "") ;;
  *) echo "run.sh: unknown argument $1 (see the usage at the top)" >&2; exit 2 ;;
esac

stop_tracked_on_exit
deflate_args=()

started=$(date +%s)
if [[ -z "$url" ]]; then
  server_bin="$(server_binary)"
  prepare_www
  port="$(free_port)"
  url="http://127.0.0.1:$port"
  label="${label:-direct}"
  mkdir -p "$root/target/browser"
  log="$root/target/browser/server-$label.log"
  "$server_bin" --bind "127.0.0.1:$port" --static-dir "$www" --sockjs-url "$url/sockjs.min.js" \
    "${STOMP_FLAGS[@]}" >"$log" 2>&1 &
  track $!
  wait_listening "$port" $! || { echo "run.sh: see $log" >&2; exit 1; }
  # The deflate case's server: the flag on, so that the other cases stay on the default path.
  deflate_port="$(free_port)"
  "$server_bin" --bind "127.0.0.1:$deflate_port" --static-dir "$www" --permessage-deflate \
    >"$root/target/browser/server-$label-deflate.log" 2>&1 &
  track $!
  wait_listening "$deflate_port" $! || { echo "run.sh: see $root/target/browser/server-$label-deflate.log" >&2; exit 1; }
  deflate_args=(--deflate-url "ws://127.0.0.1:$deflate_port/echo/websocket")
else
  label="${label:-remote}"
  [[ -d "$www" ]] || prepare_www
fi

# Behind deploy/test-proxies.sh's two-node balancer alice and bob may land on different
# nodes, each with its own broker, so chat between them cannot work there.
stomp_brokers="${STOMP_BROKERS:-1}"
if [[ -z "${STOMP_BROKERS:-}" && "$label" == two-nodes ]]; then stomp_brokers=2; fi

status=0
node "$here/matrix.js" --url "$url" --www "$www" --label "$label" --stomp-brokers "$stomp_brokers" \
  --screenshot "$root/target/browser/demo-$label.png" \
  --stomp-screenshot "$root/target/browser/demo-stomp-$label.png" \
  --login-screenshot "$root/target/browser/demo-login-$label.png" \
  --room-screenshot "$root/target/browser/demo-room-$label.png" \
  ${deflate_args[@]+"${deflate_args[@]}"} || status=$?
echo "browser matrix ($label) took $(( $(date +%s) - started ))s"
exit "$status"
