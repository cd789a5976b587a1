#!/usr/bin/env bash
# Starts the release binary on a free loopback port, runs our conformance suite against it
# as a user would, and stops the server (by its pid) whatever the outcome.
# Usage: bash .ci/conformance.sh [DIR]
# The binaries are found as tests/lib.sh's `binary` finds them ($SOCKJS_SERVER, $CONFORMANCE,
# else target/release); DIR, if given, stands for SOCKJS_SERVER=DIR/sockjs-server and
# CONFORMANCE=DIR/conformance.
set -euo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../tests/lib.sh"
if [ $# -gt 0 ]; then export SOCKJS_SERVER="$1/sockjs-server" CONFORMANCE="$1/conformance"; fi
server=$(server_binary)
conformance=$(binary conformance)
port=$(free_port)
log=$(mktemp)
stop_tracked_on_exit rm -f "$log"
RUST_LOG=warn "$server" --bind "127.0.0.1:$port" >"$log" 2>&1 &
pid=$!
track "$pid"
wait_listening "$port" "$pid" || { cat "$log" >&2; exit 1; }
"$conformance" --url "http://127.0.0.1:$port"

# Graceful shutdown: SIGTERM must end the process with status 0.
kill -TERM "$pid"
status=0
wait "$pid" || status=$?
if [ "$status" -ne 0 ]; then
  echo "sockjs-server exited with status $status on SIGTERM"; cat "$log"; exit 1
fi
echo "sockjs-server stopped cleanly on SIGTERM"
