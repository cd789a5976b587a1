#!/usr/bin/env bash
# Starts the release binary on a free loopback port, runs our conformance suite against it
# as a user would, and stops the server (by its pid) whatever the outcome.
# Usage: bash .ci/conformance.sh TARGET_DIR
set -euo pipefail
bin="$1"
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../tests/lib.sh"
port=$(free_port)
log=$(mktemp)
RUST_LOG=warn "$bin/sockjs-server" --bind "127.0.0.1:$port" >"$log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  if port_open "$port"; then break; fi
  sleep 0.1
done
"$bin/conformance" --url "http://127.0.0.1:$port"

# Graceful shutdown: SIGTERM must end the process with status 0.
kill -TERM "$pid"
status=0
wait "$pid" || status=$?
trap - EXIT
if [ "$status" -ne 0 ]; then
  echo "sockjs-server exited with status $status on SIGTERM"; cat "$log"; exit 1
fi
echo "sockjs-server stopped cleanly on SIGTERM"
