#!/usr/bin/env bash
# Runs the real-client STOMP suites (stomp_node.mjs: @stomp/stompjs over sockjs-client and ws;
# stomp_py.py: stomp.py over TCP and WebSocket; both also identify by the HTTP request's
# Authorization: Basic, issue #16) against the release sockjs-server on free 127.0.0.1 ports,
# with the STOMP TCP listener on and the users alice:pw and bob:pw. Builds and installs nothing: expects the
# binary (cargo build --release -p sockjs-server; SOCKJS_SERVER, see tests/lib.sh),
# `npm ci --prefix tests/clients` and `pip install -r tests/clients/requirements.txt` done.
# Exits non-zero if the binary is missing, or the server or any case fails.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
STARTUP_TRIES=100   # x 0.1 s: how long the server may take to listen
SUITE_TIMEOUT=300   # seconds per client suite

# shellcheck source=tests/lib.sh
. "$root/tests/lib.sh"
stomp_clients_ready || exit 2
binary="$(server_binary)"
http_port="$(free_port)"
tcp_port="$(free_port)"
log="$(mktemp)"
stop_tracked_on_exit rm -f "$log"

"$binary" --bind "127.0.0.1:$http_port" --stomp-tcp "127.0.0.1:$tcp_port" \
  --stomp-user alice:pw --stomp-user bob:pw --stomp-heart-beat 1000 \
  --static-dir /nonexistent --workers 2 >"$log" 2>&1 &
server_pid=$!
track "$server_pid"
for port in "$http_port" "$tcp_port"; do
  wait_listening "$port" "$server_pid" "$STARTUP_TRIES" || {
    echo "run-stomp.sh: server did not start; its log:" >&2
    cat "$log" >&2
    exit 1
  }
done

status=0
timeout "$SUITE_TIMEOUT" node "$here/stomp_node.mjs" "http://127.0.0.1:$http_port" || status=1
timeout "$SUITE_TIMEOUT" python3 "$here/stomp_py.py" "$tcp_port" "$http_port" || status=1
if [ "$status" != 0 ]; then
  echo "run-stomp.sh: a client suite failed; server log tail:" >&2
  tail -n 50 "$log" >&2
fi
exit "$status"
