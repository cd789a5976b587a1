#!/usr/bin/env bash
# benches/relay.sh: STOMP broadcast through the RabbitMQ broker relay, subscribers split over
# two nodes, against the in-memory broker on one node; alternated A B A B for several rounds
# on 127.0.0.1. Prints a table of medians and the ratio relay/in-memory and writes it to
# target/bench/relay-results.md. See benches/README.md.
#
#   benches/relay.sh [--quick] [--rounds N]
#
# Sizes by environment: RELAY_C (subscribers, 1000), RELAY_RATE (msgs/s, 10), DURATION (s,
# 10), GRACE (s, 5), WORKERS (per node, 1). RABBITMQ_DIR: the private broker's directory
# (default $CARGO_TARGET_DIR/rabbitmq-bench, apart from the relay suite's).
# Builds nothing: cargo build --release -p sockjs-server -p loadgen --bins first (tests/lib.sh).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
ROUNDS=3
QUICK=0
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) QUICK=1 ;;
    --rounds) ROUNDS=${2:?--rounds needs a number}; shift ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "relay.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done

if [ "$QUICK" = 1 ]; then
  : "${RELAY_C:=50}" "${DURATION:=2}" "${GRACE:=2}"
  [ "$ROUNDS" = 3 ] && ROUNDS=1
fi
# 10 msgs/s, not 20: at 20 msgs/s to 1,000 subscribers (20,000 deliveries/s) RabbitMQ took a
# whole core of this 2-core machine and fell seconds behind; see benches/README.md.
: "${RELAY_C:=1000}" "${RELAY_RATE:=10}" "${DURATION:=10}" "${GRACE:=5}" "${WORKERS:=1}"
STARTUP_TRIES=100   # x 0.1 s: how long a node may take to listen

# shellcheck source=tests/lib.sh
. "$ROOT/tests/lib.sh"
SERVER=$(server_binary)
LOADGEN=$(binary loadgen)
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
OUT=$ROOT/target/bench
mkdir -p "$OUT"
RAW=$OUT/relay-raw-$(date +%Y%m%d-%H%M%S).jsonl
: >"$RAW"
export RABBITMQ_DIR=${RABBITMQ_DIR:-$TARGET_DIR/rabbitmq-bench}
TICK=$(getconf CLK_TCK)

# Raise the fd limit: every relayed subscriber is a SockJS socket plus a broker connection.
HARD=$(ulimit -Hn)
[ "$HARD" = unlimited ] && HARD=65536
ulimit -n "$((HARD > 65536 ? 65536 : HARD))"

NODES=()
RABBIT=0
# stop_nodes: SIGTERM, up to 10 s, then SIGKILL (tests/lib.sh's stop_tracked).
stop_nodes() {
  stop_tracked
  NODES=()
}
stop_rabbit() {
  if [ "$RABBIT" = 1 ]; then "$ROOT/tests/relay/rabbitmq.sh" stop || true; fi
}
stop_tracked_on_exit stop_rabbit

# cpu_s PID: the CPU seconds (user + system) process PID has used so far.
cpu_s() {
  awk -v t="$TICK" '{ printf "%.2f", ($14 + $15) / t }' "/proc/$1/stat" 2>/dev/null || echo 0
}

# start_node NAME PORT [ARGS...]: a fresh node on 127.0.0.1:PORT; its pid goes to NODES.
start_node() {
  local log=$OUT/relay-$1.log port=$2
  shift 2
  RUST_LOG=warn "$SERVER" --bind "127.0.0.1:$port" --workers "$WORKERS" \
    --max-sessions 1000000 --max-sessions-per-client 1000000 --stats-interval 0 \
    --static-dir /nonexistent --drain 1 "$@" >>"$log" 2>&1 &
  NODES+=($!)
  track $!
  wait_listening "$port" $! "$STARTUP_TRIES" || { echo "relay.sh: see $log" >&2; return 1; }
}

echo "== RabbitMQ (private, in $RABBITMQ_DIR)" >&2
RABBIT=1
STOMP_PORT=$("$ROOT/tests/relay/rabbitmq.sh" start | sed -n 's/^STOMP_PORT=//p')
BEAM=$(pgrep -P "$(cat "$RABBITMQ_DIR/server.pid")" -x beam.smp || true)
[ -n "$BEAM" ] || echo "relay.sh: RabbitMQ's beam.smp not found; its CPU reads as 0" >&2

FAILED=0
# run NAME ROUND ADDR...: one load generator run against the nodes in NODES, its JSON line
# and the CPU the nodes and RabbitMQ used appended to $RAW.
run() {
  local name=$1 round=$2 addrs=() beam0 pid nodes_cpu=0
  shift 2
  for a in "$@"; do addrs+=(--addr "$a"); done
  beam0=$( [ -n "$BEAM" ] && cpu_s "$BEAM" || echo 0)
  if ! timeout 300 "$LOADGEN" stomp-broadcast "${addrs[@]}" --prefix /stomp \
       --server "$name" --round "$round" --tag stomp-broadcast --sessions "$RELAY_C" \
       --rate "$RELAY_RATE" --duration "$DURATION" --grace "$GRACE" >>"$RAW"; then
    echo "relay.sh: $name round $round failed" >&2
    FAILED=$((FAILED + 1))
    return 0
  fi
  for pid in "${NODES[@]}"; do nodes_cpu=$(awk -v a="$nodes_cpu" -v b="$(cpu_s "$pid")" 'BEGIN { print a + b }'); done
  local broker_cpu=-1
  [ "$name" = relay ] && [ -n "$BEAM" ] \
    && broker_cpu=$(awk -v a="$(cpu_s "$BEAM")" -v b="$beam0" 'BEGIN { printf "%.2f", a - b }')
  echo "{\"tag\":\"stomp-cpu\",\"server\":\"$name\",\"round\":$round,\"sessions\":$RELAY_C,\"nodes_cpu_s\":$nodes_cpu,\"broker_cpu_s\":$( [ "$broker_cpu" = -1 ] && echo null || echo "$broker_cpu")}" >>"$RAW"
  echo "[$name round $round] CPU: nodes $nodes_cpu s$( [ "$broker_cpu" = -1 ] || echo ", RabbitMQ $broker_cpu s")" >&2
}

echo "== $ROUNDS round(s): C=$RELAY_C at $RELAY_RATE msgs/s for $DURATION s; raw results: $RAW" >&2
for r in $(seq "$ROUNDS"); do
  echo "== round $r: in-memory broker, one node" >&2
  port=$(free_port)
  start_node inmem "$port"
  run inmem "$r" "127.0.0.1:$port"
  stop_nodes
  echo "== round $r: relay, two nodes, subscribers split, sender on the first" >&2
  port_a=$(free_port)
  port_b=$(free_port)
  start_node relay-a "$port_a" --broker-relay "127.0.0.1:$STOMP_PORT"
  start_node relay-b "$port_b" --broker-relay "127.0.0.1:$STOMP_PORT"
  run relay "$r" "127.0.0.1:$port_a" "127.0.0.1:$port_b"
  stop_nodes
done

"$LOADGEN" table --layout relay "$RAW" --markdown "$OUT/relay-results.md"
{
  echo
  echo "C=$RELAY_C subscribers at $RELAY_RATE msgs/s for $DURATION s (grace $GRACE s), $WORKERS" \
    "worker(s) per node, $(nproc) CPUs, load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)," \
    "$(date -u +%Y-%m-%d)."
} >>"$OUT/relay-results.md"
echo "(markdown: $OUT/relay-results.md; raw: $RAW)" >&2
if [ "$FAILED" -gt 0 ]; then
  echo "relay.sh: $FAILED load generator run(s) failed" >&2
  exit 1
fi
