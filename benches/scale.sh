#!/usr/bin/env bash
# benches/scale.sh: many idle sessions on one machine (issue 18). Holds C idle websocket or
# xhr-streaming sessions with the server's heartbeat for a while and measures the time to
# open them all, the servers' RSS and the kernel's TCP memory per session (before, holding,
# after all close), heartbeat lateness p50/p99 and sessions lost; prints a table and writes
# target/bench/scale-results.md. Loopback only; every wait bounded. See benches/README.md.
#
#   benches/scale.sh [--quick] [--only ws|xhr|max]
#
# Sizes by environment: WS_C (100000), XHR_C (20000), HOLD (300 s), MAX_C (500000),
# MAX_HOLD (60 s), HEARTBEAT (25 s), SHARD (sessions per process: the fd hard limit - 1000),
# SOURCE_ADDRS (4), PORT (18600); SERVER_KIND=node runs sockjs-node (benches/node) instead of
# ours (npm ci there first: benches/run.sh does it). --quick: 2,000 websocket and 500
# xhr-streaming sessions held 20 s with a 5 s heartbeat, no max run (CI smoke).
# Builds nothing: cargo build --release -p sockjs-server -p loadgen --bins first.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=tests/lib.sh
. "$ROOT/tests/lib.sh"
QUICK=0 ONLY=all
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) QUICK=1 ;;
    --only) ONLY=${2:?--only needs ws, xhr or max}; shift ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "scale.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
if [ "$QUICK" = 1 ]; then
  : "${WS_C:=2000}" "${XHR_C:=500}" "${HOLD:=20}" "${HEARTBEAT:=5}" "${MAX_C:=0}"
fi
: "${WS_C:=100000}" "${XHR_C:=20000}" "${HOLD:=300}" "${MAX_C:=500000}" "${MAX_HOLD:=60}"
: "${HEARTBEAT:=25}" "${SOURCE_ADDRS:=4}" "${PORT:=18600}" "${DISCONNECT_DELAY:=5}"
: "${SERVER_KIND:=ours}"

SERVER=$(server_binary)
LOADGEN=$(binary loadgen)
OUT=$ROOT/target/bench
mkdir -p "$OUT"
RAW=$OUT/scale-raw-$(date +%Y%m%d-%H%M%S).jsonl
: >"$RAW"

# Every session is a socket in the server and one in the load generator: raise the soft fd
# limit to the hard one. A process holds at most (hard limit - margin) sessions, so a run
# larger than that is spread over several server processes on this machine, each with its
# own load generator (one "shard" each).
HARD=$(ulimit -Hn)
[ "$HARD" = unlimited ] && HARD=1048576
ulimit -n "$HARD"
: "${SHARD:=$((HARD - 1000))}"
stop_tracked_on_exit

rss() { awk '/^VmRSS/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
slab() { awk '/^SUnreclaim/ {print $2}' /proc/meminfo; }
tcp_mem() { awk '$1 == "TCP:" {for (i = 2; i < NF; i++) if ($i == "mem") print $(i + 1)}' /proc/net/sockstat; }
sum_rss() { local t=0 p; for p in "$@"; do t=$((t + $(rss "$p"))); done; echo "$t"; }

# phase NAME TRANSPORT C HOLD: one measurement on fresh servers; appends a JSON line to $RAW.
phase() {
  local name=$1 transport=$2 c=$3 hold=$4
  local k=$(((c + SHARD - 1) / SHARD))
  [ "$SERVER_KIND" = node ] && name=node-$name
  local dir=$OUT/scale-$name
  rm -rf "$dir" && mkdir -p "$dir"
  echo "== $name: $c idle $transport sessions, $k server process(es), hold $hold s, heartbeat $HEARTBEAT s" >&2
  local servers=() lgs=() i n per=$(((c + k - 1) / k)) left=$c pings=()
  # sockjs-node 0.3 heartbeats a websocket with a ping, not `h`.
  [ "$SERVER_KIND" = node ] && pings=(--ping-heartbeats)
  for ((i = 0; i < k; i++)); do
    if [ "$SERVER_KIND" = node ]; then
      node "$ROOT/benches/node/server.js" --port "$((PORT + i))" --heartbeat-delay "$HEARTBEAT" \
        --disconnect-delay "$DISCONNECT_DELAY" >"$dir/server-$i.log" 2>&1 &
    else
      RUST_LOG=warn "$SERVER" --bind "127.0.0.1:$((PORT + i))" --workers 1 \
        --heartbeat-delay "$HEARTBEAT" --disconnect-delay "$DISCONNECT_DELAY" \
        --max-sessions "$((per + 100))" --stats-interval 0 --static-dir /nonexistent --drain 1 \
        >"$dir/server-$i.log" 2>&1 &
    fi
    servers+=($!)
    track $!
  done
  for ((i = 0; i < k; i++)); do
    wait_listening "$((PORT + i))" "${servers[$i]}" || { cat "$dir/server-$i.log" >&2; return 1; }
  done
  sleep 1
  local rss_before mem_before t0 t_open rss_hold mem_hold lg_rss rss_after mem_after
  local slab_before slab_hold
  rss_before=$(sum_rss "${servers[@]}") mem_before=$(tcp_mem) slab_before=$(slab)
  t0=$(date +%s.%N)
  for ((i = 0; i < k; i++)); do
    n=$((left < per ? left : per)) left=$((left - n))
    "$LOADGEN" hold --addr "127.0.0.1:$((PORT + i))" --transport "$transport" \
      --sessions "$n" --duration "$hold" --heartbeat-delay "$HEARTBEAT" \
      --source-addrs "$SOURCE_ADDRS" --ready-file "$dir/ready-$i" --timeout 60 \
      --connect-concurrency 64 --server "$SERVER_KIND" --tag "$name" "${pings[@]}" >"$dir/lg-$i.json" 2>"$dir/lg-$i.err" &
    lgs+=($!)
  done
  # Bounded: every load generator writes its ready file once all its sessions are open (or
  # failed), or exits.
  for ((i = 0; i < k; i++)); do
    local tries=0
    while [ ! -e "$dir/ready-$i" ] && kill -0 "${lgs[$i]}" 2>/dev/null && [ $tries -lt 6000 ]; do
      sleep 0.1; tries=$((tries + 1))
    done
  done
  t_open=$(echo "$(date +%s.%N) - $t0" | bc)
  sleep 5
  rss_hold=$(sum_rss "${servers[@]}") mem_hold=$(tcp_mem) lg_rss=$(sum_rss "${lgs[@]}")
  slab_hold=$(slab)
  echo "   all open after ${t_open} s; servers' RSS $rss_before -> $rss_hold KiB; TCP mem $mem_before -> $mem_hold pages" >&2
  if [ "$(echo "$t_open + 5 > $hold" | bc)" = 1 ]; then
    echo "   scale.sh: opening took longer than the hold ($hold s): the first shards may have closed before the holding figures were read; give a longer hold" >&2
  fi
  local failed=0
  for ((i = 0; i < k; i++)); do wait "${lgs[$i]}" || failed=$((failed + 1)); done
  sleep $((DISCONNECT_DELAY + 4))
  rss_after=$(sum_rss "${servers[@]}") mem_after=$(tcp_mem)
  stop_tracked
  sleep 1
  cat "$dir"/lg-*.json | python3 "$ROOT/benches/scale_row.py" "$name" "$transport" "$c" "$k" \
    "$t_open" "$rss_before" "$rss_hold" "$rss_after" "$mem_before" "$mem_hold" "$mem_after" \
    "$lg_rss" "$failed" "$slab_before" "$slab_hold" >>"$RAW"
  tail -1 "$RAW" | python3 "$ROOT/benches/scale_row.py" --human >&2
}

[[ $ONLY == all || $ONLY == ws ]] && phase "ws-$WS_C" websocket "$WS_C" "$HOLD"
[[ $ONLY == all || $ONLY == xhr ]] && phase "xhr-streaming-$XHR_C" xhr-streaming "$XHR_C" "$HOLD"
if [[ $MAX_C -gt 0 && ( $ONLY == all || $ONLY == max ) ]]; then
  phase "ws-max-$MAX_C" websocket "$MAX_C" "$MAX_HOLD"
fi
python3 "$ROOT/benches/scale_row.py" --table "$RAW" >"$OUT/scale-results.md"
cat "$OUT/scale-results.md"
echo "(markdown: $OUT/scale-results.md; raw: $RAW; logs: $OUT/scale-*/)" >&2
