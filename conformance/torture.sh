#!/usr/bin/env bash
# Runs the adversarial suite (conformance/src/bin/torture.rs) against the release server,
# started here with what the suite needs: metrics on, a 1 s disconnect delay (abandoned
# sessions expire quickly), a per-client session limit above the churn check's count (every
# client is 127.0.0.1), and a 2 s header timeout (slowloris connections are dropped quickly).
#
# Usage: conformance/torture.sh [small|full]            the checks (default: small)
#        conformance/torture.sh soak [MINUTES]          the soak (default: 1 minute)
#        extra arguments after these are passed to torture (e.g. --filter churn)
# Needs: target/release/sockjs-server and target/release/torture
#        (cargo build --release -p sockjs-server -p conformance --bins), python3.
# Environment: SOCKJS_SERVER, TORTURE (binary paths; see tests/lib.sh).
# Everything runs on 127.0.0.1 on free ports; the server log goes to target/torture/.
# The server is stopped by pid on exit. Exit status: torture's.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="$root/target/torture"
mode="${1:-small}"
[[ $# -gt 0 ]] && shift
header_timeout=2

case "$mode" in
  small|full) args=(--size "$mode") ;;
  soak)
    minutes="${1:-1}"
    [[ $# -gt 0 ]] && shift
    args=(--soak --minutes "$minutes")
    ;;
  *) echo "usage: $0 [small|full|soak [MINUTES]] [torture args...]" >&2; exit 2 ;;
esac

# shellcheck source=tests/lib.sh
. "$root/tests/lib.sh"
server_bin=$(server_binary)
torture_bin=$(binary torture)
mkdir -p "$out"

port=$(free_port)
metrics_port=$(free_port)
stop_tracked_on_exit

"$server_bin" --bind "127.0.0.1:$port" --metrics-bind "127.0.0.1:$metrics_port" \
  --static-dir "$root/static" --disconnect-delay 1 --max-sessions-per-client 30000 \
  --header-timeout "$header_timeout" --stats-interval 0 >"$out/server-$mode.log" 2>&1 &
pid=$!
track "$pid"
for p in "$port" "$metrics_port"; do
  wait_listening "$p" "$pid" || { echo "torture.sh: see $out/server-$mode.log" >&2; exit 2; }
done

echo "torture.sh: server pid $pid on 127.0.0.1:$port, metrics on 127.0.0.1:$metrics_port"
status=0
"$torture_bin" --url "http://127.0.0.1:$port" --metrics-url "http://127.0.0.1:$metrics_port" \
  --server-pid "$pid" --header-timeout "$header_timeout" "${args[@]}" "$@" || status=$?
if ! kill -0 "$pid" 2>/dev/null; then
  echo "torture.sh: the server died during the run (see $out/server-$mode.log)" >&2
  status=1
fi
exit "$status"
