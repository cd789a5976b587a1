#!/usr/bin/env bash
# benches/run.sh: our SockJS server against sockjs-node (and the bare actix-ws floor for
# memory), alternated A B A B for several rounds on 127.0.0.1; prints a table of medians
# and ratios and writes it to target/bench/results.md. See benches/README.md.
#
#   benches/run.sh [--quick] [--rounds N]
#
# Sizes can be overridden by environment: DURATION, ECHO_WS_C, ECHO_HTTP_C, BCAST_C1,
# BCAST_C2, BCAST_RATE, IDLE_C, CHURN_C, CHURN_DURATION, DISCONNECT_DELAY; pinning by
# SERVER_CPUS and LOADGEN_CPUS (taskset lists), WORKERS (ours and the floor).
# BASE_SERVER=PATH: an A/B of two builds of ours instead (another commit's binary as `base`,
# alternated with ours; no node, no floor), e.g. to show a change costs nothing.
# Builds nothing: cargo build --release -p sockjs-server -p loadgen --bins first (tests/lib.sh).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=tests/lib.sh
. "$ROOT/tests/lib.sh"
ROUNDS=3
QUICK=0
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) QUICK=1 ;;
    --rounds) ROUNDS=${2:?--rounds needs a number}; shift ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done

if [ "$QUICK" = 1 ]; then
  : "${DURATION:=1}" "${ECHO_WS_C:=10}" "${ECHO_HTTP_C:=5}" "${BCAST_C1:=50}" "${BCAST_C2:=200}"
  : "${IDLE_C:=200}" "${CHURN_C:=5}" "${CHURN_DURATION:=1}" "${DISCONNECT_DELAY:=1}" "${SETTLE:=0.5}"
  [ "$ROUNDS" = 3 ] && ROUNDS=1
fi
: "${DURATION:=10}" "${ECHO_WS_C:=100}" "${ECHO_HTTP_C:=50}" "${BCAST_C1:=1000}"
: "${BCAST_C2:=10000}" "${BCAST_RATE:=20}" "${IDLE_C:=5000}" "${CHURN_C:=50}"
: "${CHURN_DURATION:=10}" "${DISCONNECT_DELAY:=5}"
# Past the disconnect delay, with a margin, every abandoned session must be gone.
: "${SETTLE:=2}"
AFTER=$((DISCONNECT_DELAY + 2))
WARMUP=1
[ "$QUICK" = 1 ] && WARMUP=0.2

SERVER=$(server_binary)
LOADGEN=$(binary loadgen)
FLOOR=$(binary bench-floor)
OUT=$ROOT/target/bench
mkdir -p "$OUT"
RAW=$OUT/raw-$(date +%Y%m%d-%H%M%S).jsonl
: >"$RAW"
PORT=${PORT:-18480}

# Raise the fd limit: 10,000 broadcast subscribers, 5,000 idle sessions.
HARD=$(ulimit -Hn)
[ "$HARD" = unlimited ] && HARD=65536
ulimit -n "$((HARD > 65536 ? 65536 : HARD))"

# Pin server and load generator to different cores where there are two.
NCPU=$(nproc)
PIN_SERVER=() PIN_LOADGEN=()
if [ "$NCPU" -ge 2 ] && command -v taskset >/dev/null; then
  : "${SERVER_CPUS:=0}" "${LOADGEN_CPUS:=1-$((NCPU - 1))}"
  PIN_SERVER=(taskset -c "$SERVER_CPUS") PIN_LOADGEN=(taskset -c "$LOADGEN_CPUS")
fi
: "${WORKERS:=1}"

if [ ! -d "$ROOT/benches/node/node_modules/sockjs" ]; then
  echo "== npm ci (benches/node)" >&2
  (cd "$ROOT/benches/node" && npm ci --no-audit --no-fund)
fi

SERVER_PID=
stop_tracked_on_exit

# start_server NAME: starts a fresh server on $PORT; sets SERVER_PID.
start_server() {
  local log=$OUT/$1.log
  case "$1" in
    ours|base)
      local bin=$SERVER
      [ "$1" = base ] && bin=$BASE_SERVER
      RUST_LOG=warn "${PIN_SERVER[@]}" "$bin" --bind "127.0.0.1:$PORT" \
            --workers "$WORKERS" --response-limit 131073 --disconnect-delay "$DISCONNECT_DELAY" \
            --max-sessions 1000000 --max-sessions-per-client 1000000 --stats-interval 0 \
            --static-dir /nonexistent --drain 1 >>"$log" 2>&1 & ;;
    node) "${PIN_SERVER[@]}" node "$ROOT/benches/node/server.js" --port "$PORT" \
            --disconnect-delay "$DISCONNECT_DELAY" >>"$log" 2>&1 & ;;
    floor) "${PIN_SERVER[@]}" "$FLOOR" --bind "127.0.0.1:$PORT" \
             --workers "$WORKERS" >>"$log" 2>&1 & ;;
  esac
  SERVER_PID=$!
  track "$SERVER_PID"
  wait_listening "$PORT" "$SERVER_PID" || { echo "run.sh: $1 did not start (see $log)" >&2; return 1; }
}

# stop_server: SIGTERM, up to 10 s, then SIGKILL (tests/lib.sh's stop_tracked).
stop_server() {
  stop_tracked
  SERVER_PID=
  # Let the port's connections drain before the next server binds it.
  sleep 0.5
}

FAILED=0
# lg NAME ROUND SCENARIO ARGS...: one load generator run, its JSON line appended to $RAW.
lg() {
  local name=$1 round=$2 scenario=$3
  shift 3
  if ! timeout 300 "${PIN_LOADGEN[@]}" "$LOADGEN" "$scenario" --addr "127.0.0.1:$PORT" \
       --server "$name" --round "$round" --server-pid "$SERVER_PID" "$@" >>"$RAW"; then
    echo "run.sh: $name round $round: $scenario $* failed" >&2
    FAILED=$((FAILED + 1))
  fi
}

run_server() {
  local name=$1 r=$2
  echo "== round $r: $name" >&2
  if [ "$name" != floor ]; then
    start_server "$name"
    lg "$name" "$r" echo --tag ws-echo --sessions "$ECHO_WS_C" --duration "$DURATION" --warmup "$WARMUP"
    for t in xhr-polling xhr-streaming eventsource; do
      lg "$name" "$r" echo --tag "$t-echo" --transport "$t" --sessions "$ECHO_HTTP_C" \
        --duration "$DURATION" --warmup "$WARMUP"
    done
    lg "$name" "$r" broadcast --tag broadcast-1k --prefix /broadcast --sessions "$BCAST_C1" \
      --rate "$BCAST_RATE" --duration "$DURATION"
    lg "$name" "$r" broadcast --tag broadcast-10k --prefix /broadcast --sessions "$BCAST_C2" \
      --rate "$BCAST_RATE" --duration "$DURATION"
    stop_server
  else
    start_server floor
    lg floor "$r" echo --tag ws-echo --sessions "$ECHO_WS_C" --duration "$DURATION" --warmup "$WARMUP"
    stop_server
  fi
  # Memory on fresh servers: one per transport, so one run's heap does not hide the next.
  for t in websocket xhr-streaming; do
    local tag=idle-ws
    [ "$t" = xhr-streaming ] && tag=idle-xhr-streaming
    start_server "$name"
    lg "$name" "$r" idle --tag "$tag" --transport "$t" --sessions "$IDLE_C" --settle "$SETTLE" --after "$AFTER"
    stop_server
  done
  if [ "$name" != floor ]; then
    start_server "$name"
    lg "$name" "$r" churn --tag churn-ws --concurrency "$CHURN_C" --duration "$CHURN_DURATION" --after "$AFTER"
    lg "$name" "$r" churn --tag churn-xhr --transport xhr-polling --concurrency "$CHURN_C" \
      --duration "$CHURN_DURATION" --after "$AFTER"
    # Clients that wait for the server's FIN after the close handshake (RFC 6455 7.1.1):
    # sessions/s only, so no wait after nor probe.
    lg "$name" "$r" churn --tag churn-ws-fin --wait-fin --concurrency "$CHURN_C" \
      --duration "$CHURN_DURATION" --after 0 --probe 0
    stop_server
  fi
}

echo "== $ROUNDS round(s); server cpus: ${SERVER_CPUS:-any}, loadgen cpus: ${LOADGEN_CPUS:-any}; raw results: $RAW" >&2
SERVERS=(ours node floor) LAYOUT=servers
if [ -n "${BASE_SERVER:-}" ]; then
  SERVERS=(base ours) LAYOUT=ab
fi
for r in $(seq "$ROUNDS"); do
  for name in "${SERVERS[@]}"; do
    run_server "$name" "$r"
  done
done

"$LOADGEN" table --layout "$LAYOUT" "$RAW" --markdown "$OUT/results.md"
echo "(markdown: $OUT/results.md; raw: $RAW)" >&2
if [ "$FAILED" -gt 0 ]; then
  echo "run.sh: $FAILED load generator run(s) failed" >&2
  exit 1
fi
