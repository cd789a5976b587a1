#!/usr/bin/env bash
# The broker relay suite: a private RabbitMQ (rabbitmq.sh), two sockjs-server nodes relaying
# through it on free 127.0.0.1 ports, and relay_node.mjs (@stomp/stompjs over sockjs-client,
# with stomp.py sends via relay_py.py). Expects `npm ci --prefix tests/clients` and
# `pip install -r tests/clients/requirements.txt` done; installs rabbitmq-server if missing.
# Prints the suite's lines and "N passed, M failed"; stops everything it started, by pid.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"
STARTUP_TRIES=100   # x 0.1 s: how long a node may take to listen
SUITE_TIMEOUT=600   # seconds for the whole client suite

if [ ! -d "$root/tests/clients/node_modules/@stomp/stompjs" ]; then
  echo "run.sh: node deps missing; run: npm ci --prefix tests/clients" >&2
  exit 2
fi
python3 -c 'import stomp' 2>/dev/null || {
  echo "run.sh: stomp.py missing; run: pip install -r tests/clients/requirements.txt" >&2
  exit 2
}

(cd "$root" && cargo build --release --bin sockjs-server)
binary="$target/release/sockjs-server"

pids=()
logs="$(mktemp -d)"
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  "$here/rabbitmq.sh" stop || true
}
trap cleanup EXIT

stomp_port="$("$here/rabbitmq.sh" start | sed -n 's/^STOMP_PORT=//p')"
echo "run.sh: RabbitMQ STOMP on 127.0.0.1:$stomp_port"

# shellcheck source=tests/lib.sh
. "$root/tests/lib.sh"
start_node() { # name http tcp
  "$binary" --bind "127.0.0.1:$2" --stomp-tcp "127.0.0.1:$3" \
    --broker-relay "127.0.0.1:$stomp_port" --relay-registry-interval 1 \
    --stomp-user alice:pw --stomp-user bob:pw \
    --static-dir /nonexistent --workers 2 >"$logs/$1.log" 2>&1 &
  pids+=($!)
}
http_a="$(free_port)"; tcp_a="$(free_port)"; http_b="$(free_port)"; tcp_b="$(free_port)"
start_node a "$http_a" "$tcp_a"
start_node b "$http_b" "$tcp_b"
for port in "$http_a" "$tcp_a" "$http_b" "$tcp_b"; do
  for _ in $(seq "$STARTUP_TRIES"); do
    port_open "$port" && break
    sleep 0.1
  done
done

status=0
RABBITMQ_SH="$here/rabbitmq.sh" timeout "$SUITE_TIMEOUT" node "$here/relay_node.mjs" \
  "http://127.0.0.1:$http_a" "http://127.0.0.1:$http_b" "$tcp_a" "$tcp_b" || status=1

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
