#!/usr/bin/env bash
# benches/history.sh: the cost of STOMP message history (#17) on the in-memory broker, in the
# same run: one node without history (`off`) and one with `--stomp-history` (`on`), alternated
# off on off on for several rounds on 127.0.0.1. Each round: the STOMP broadcast (C
# subscribers over SockJS websocket, one sender at RATE msgs/s; benches/loadgen
# stomp-broadcast), the node's CPU per delivery, then a fill of FILL messages over
# FILL_DESTS topics (benches/stomp_fill.py over STOMP/TCP) with the RSS growth it causes;
# memory per retained message = (growth with history - growth without) / messages retained.
# Prints a table of medians and writes it to target/bench/history-results.md.
#
#   benches/history.sh [--quick] [--rounds N]
#
# Sizes by environment: HISTORY_C (subscribers, 1000), HISTORY_RATE (msgs/s, 20), DURATION
# (s, 10), GRACE (s, 5), FILL (messages, 100000), FILL_DESTS (1000), FILL_SIZE (body bytes,
# 200), WORKERS (1). History keeps its defaults (100 messages per destination, 5 minutes,
# 64 MiB), so FILL / FILL_DESTS above 100 retains 100 per destination.
# Builds nothing: cargo build --release -p sockjs-server -p loadgen --bins first.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
ROUNDS=3
QUICK=0
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) QUICK=1 ;;
    --rounds) ROUNDS=${2:?--rounds needs a number}; shift ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    *) echo "history.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
if [ "$QUICK" = 1 ]; then
  : "${HISTORY_C:=50}" "${DURATION:=2}" "${GRACE:=2}" "${FILL:=2000}" "${FILL_DESTS:=100}"
  [ "$ROUNDS" = 3 ] && ROUNDS=1
fi
: "${HISTORY_C:=1000}" "${HISTORY_RATE:=20}" "${DURATION:=10}" "${GRACE:=5}" "${WORKERS:=1}"
: "${FILL:=100000}" "${FILL_DESTS:=1000}" "${FILL_SIZE:=200}"
HISTORY_PER_DEST=100   # HistoryConfig::default().max_messages
STARTUP_TRIES=100      # x 0.1 s: how long a node may take to listen
SETTLE=3               # s between the broadcast's end and the fill (see round)

# shellcheck source=tests/lib.sh
. "$ROOT/tests/lib.sh"
SERVER=$(server_binary)
LOADGEN=$(binary loadgen)
OUT=$ROOT/target/bench
mkdir -p "$OUT"
RAW=$OUT/history-raw-$(date +%Y%m%d-%H%M%S).jsonl
: >"$RAW"
TICK=$(getconf CLK_TCK)
HARD=$(ulimit -Hn)
[ "$HARD" = unlimited ] && HARD=65536
ulimit -n "$((HARD > 65536 ? 65536 : HARD))"
stop_tracked_on_exit

cpu_s() { awk -v t="$TICK" '{ printf "%.2f", ($14 + $15) / t }' "/proc/$1/stat"; }
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

per_dest=$(( FILL / FILL_DESTS < HISTORY_PER_DEST ? FILL / FILL_DESTS : HISTORY_PER_DEST ))
RETAINED=$(( per_dest * FILL_DESTS ))
FAILED=0
OFF_GROWTH=""

# round MODE ROUND [SERVER FLAGS...]
round() {
  local mode=$1 r=$2 http tcp pid cpu delivered growth rss0 rss1 per_delivery per_retained
  shift 2
  http=$(free_port)
  tcp=$(free_port)
  RUST_LOG=warn "$SERVER" --bind "127.0.0.1:$http" --stomp-tcp "127.0.0.1:$tcp" \
    --workers "$WORKERS" --max-sessions 1000000 --stats-interval 0 \
    --static-dir /nonexistent --drain 1 "$@" >>"$OUT/history-$mode.log" 2>&1 &
  pid=$!
  track "$pid"
  wait_listening "$http" "$pid" "$STARTUP_TRIES" && wait_listening "$tcp" "$pid" "$STARTUP_TRIES" ||
    { echo "history.sh: see $OUT/history-$mode.log" >&2; return 1; }
  local line
  if ! line=$(timeout 300 "$LOADGEN" stomp-broadcast --addr "127.0.0.1:$http" --prefix /stomp \
      --server "$mode" --round "$r" --tag stomp-broadcast --sessions "$HISTORY_C" \
      --rate "$HISTORY_RATE" --duration "$DURATION" --grace "$GRACE"); then
    echo "history.sh: $mode round $r: the broadcast failed" >&2
    FAILED=$((FAILED + 1))
    stop_tracked
    return 0
  fi
  line=$(printf '%s\n' "$line" | grep '^{' | tail -n 1)
  echo "$line" >>"$RAW"
  cpu=$(cpu_s "$pid")
  delivered=$(printf '%s' "$line" | python3 -c 'import json,sys; print(json.load(sys.stdin)["delivered"])')
  per_delivery=$(awk -v c="$cpu" -v d="$delivered" 'BEGIN { if (d > 0) printf "%.2f", c * 1e6 / d; else print "null" }')
  # The broadcast's 1,000 sessions have just gone: let the memory trim (every 1 s) hand
  # their pages back first, so that the fill's growth is the fill's.
  sleep "$SETTLE"
  rss0=$(rss_kib "$pid")
  python3 "$ROOT/benches/stomp_fill.py" "$tcp" "$FILL" "$FILL_DESTS" "$FILL_SIZE" >/dev/null
  sleep 1
  rss1=$(rss_kib "$pid")
  growth=$((rss1 - rss0))
  per_retained=null
  if [ "$mode" = off ]; then
    OFF_GROWTH=$growth
  elif [ -n "$OFF_GROWTH" ]; then
    per_retained=$(awk -v g="$growth" -v o="$OFF_GROWTH" -v n="$RETAINED" 'BEGIN { printf "%.0f", (g - o) * 1024 / n }')
  fi
  echo "{\"tag\":\"history-cost\",\"server\":\"$mode\",\"round\":$r,\"sessions\":$HISTORY_C,\"cpu_s\":$cpu,\"delivered\":$delivered,\"cpu_us_per_delivery\":$per_delivery,\"fill_rss_kib\":$growth,\"retained\":$RETAINED,\"bytes_per_retained\":$per_retained}" >>"$RAW"
  echo "[$mode round $r] CPU $cpu s for $delivered deliveries ($per_delivery us each); fill: RSS +$growth KiB" >&2
  stop_tracked
}

echo "== $ROUNDS round(s): C=$HISTORY_C at $HISTORY_RATE msgs/s for $DURATION s; fill $FILL x $FILL_SIZE B over $FILL_DESTS topics ($RETAINED retained); raw: $RAW" >&2
for r in $(seq "$ROUNDS"); do
  OFF_GROWTH=""
  round off "$r"
  round on "$r" --stomp-history
done

"$LOADGEN" table --layout history "$RAW" --markdown "$OUT/history-results.md"
{
  echo
  echo "C=$HISTORY_C subscribers at $HISTORY_RATE msgs/s for $DURATION s (grace $GRACE s);" \
    "fill: $FILL messages of $FILL_SIZE B over $FILL_DESTS topics, $RETAINED retained with" \
    "history on; $WORKERS worker(s), $(nproc) CPUs, load average at the end:" \
    "$(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%Y-%m-%d)."
} >>"$OUT/history-results.md"
echo "(markdown: $OUT/history-results.md; raw: $RAW)" >&2
[ "$FAILED" = 0 ] || { echo "history.sh: $FAILED run(s) failed" >&2; exit 1; }
