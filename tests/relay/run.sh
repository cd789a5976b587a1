#!/usr/bin/env bash
# The broker relay suite: a private RabbitMQ (rabbitmq.sh), two sockjs-server nodes relaying
# through it on free 127.0.0.1 ports, and relay_node.mjs (@stomp/stompjs over sockjs-client,
# with stomp.py sends via relay_py.py), then relay_presence.mjs (presence across the nodes,
# started with --stomp-presence /topic/chat.), then relay_history.mjs (history and recovery
# through RabbitMQ streams, --stomp-history --stomp-history-prefix /topic/hist.), then relay_api.mjs (the server HTTP API of each node,
# --api-bind with a key). Builds nothing: expects the release binary (cargo
# build --release -p sockjs-server; SOCKJS_SERVER, see tests/lib.sh), `npm ci --prefix
# tests/clients` and `pip install -r tests/clients/requirements.txt` done; installs
# rabbitmq-server if missing.
# Prints the suite's lines and "N passed, M failed"; stops everything it started, by pid.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
STARTUP_TRIES=100   # x 0.1 s: how long a node may take to listen
SUITE_TIMEOUT=600   # seconds for the whole client suite

# shellcheck source=tests/lib.sh
. "$root/tests/lib.sh"
stomp_clients_ready || exit 2
binary="$(server_binary)"

pids=()
logs="$(mktemp -d)"
stop_tracked_on_exit "$here/rabbitmq.sh" stop

stomp_port="$("$here/rabbitmq.sh" start | sed -n 's/^STOMP_PORT=//p')"
echo "run.sh: RabbitMQ STOMP on 127.0.0.1:$stomp_port"

export SOCKJS_API_KEY="relay-suite-$$-$RANDOM$RANDOM"   # the nodes' server API key
start_node() { # name http tcp api
  "$binary" --bind "127.0.0.1:$2" --stomp-tcp "127.0.0.1:$3" --api-bind "127.0.0.1:$4" \
    --broker-relay "127.0.0.1:$stomp_port" --relay-registry-interval 1 \
    --stomp-user alice:pw --stomp-user bob:pw --stomp-presence /topic/chat. --stomp-history --stomp-history-prefix /topic/hist. \
    --static-dir /nonexistent --workers 2 >"$logs/$1.log" 2>&1 &
  pids+=($!)
  track $!
  wait_listening "$2" $! "$STARTUP_TRIES" && wait_listening "$3" $! "$STARTUP_TRIES" &&
    wait_listening "$4" $! "$STARTUP_TRIES" ||
    { cat "$logs/$1.log" >&2; exit 1; }
}
http_a="$(free_port)"; tcp_a="$(free_port)"; http_b="$(free_port)"; tcp_b="$(free_port)"
api_a="$(free_port)"; api_b="$(free_port)"
start_node a "$http_a" "$tcp_a" "$api_a"
start_node b "$http_b" "$tcp_b" "$api_b"

status=0
RABBITMQ_SH="$here/rabbitmq.sh" timeout "$SUITE_TIMEOUT" node "$here/relay_node.mjs" \
  "http://127.0.0.1:$http_a" "http://127.0.0.1:$http_b" "$tcp_a" "$tcp_b" || status=1
# Presence across the two nodes (both started with --stomp-presence /topic/chat.).
timeout "$SUITE_TIMEOUT" node "$here/relay_presence.mjs" \
  "http://127.0.0.1:$http_a" "http://127.0.0.1:$http_b" || status=1
# History and recovery through RabbitMQ streams (both nodes run with --stomp-history on
# /topic/hist. only: a stream per destination made the 1000-session presence churn time out).
timeout "$SUITE_TIMEOUT" node "$here/relay_history.mjs" \
  "http://127.0.0.1:$http_a" "http://127.0.0.1:$http_b" "$tcp_a" "$tcp_b" || status=1
timeout "$SUITE_TIMEOUT" node "$here/relay_api.mjs" "http://127.0.0.1:$http_a" \
  "http://127.0.0.1:$http_b" "http://127.0.0.1:$api_a" "http://127.0.0.1:$api_b" || status=1

# Both nodes must have survived everything (broker loss included) without a panic.
for i in 0 1; do
  if ! kill -0 "${pids[$i]}" 2>/dev/null; then
    echo "run.sh: node $i died; its log:" >&2; status=1
  fi
done
if grep -l 'panicked' "$logs"/*.log >/dev/null 2>&1; then
  echo "run.sh: a node panicked:" >&2; grep -h -A3 'panicked' "$logs"/*.log >&2; status=1
fi
[ "$status" = 0 ] || tail -n 20 "$logs"/*.log >&2
exit "$status"
