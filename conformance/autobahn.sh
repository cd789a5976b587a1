#!/usr/bin/env bash
# Runs the Autobahn testsuite (wstest -m fuzzingclient) against the raw WebSocket endpoint
# /echo/websocket of the release server, for the text-message case groups 1.1, 2-7, 9.1 and
# 10 (245 cases). The server is started here with --max-message-bytes 16 MiB, since cases
# 9.1.4-9.1.6 send 4, 8 and 16 MiB messages (the default limit is 1 MiB), and
# --max-buffered-bytes 64 MiB, since the echo of such a message is queued whole (the default
# 1 MiB backlog bound would close the session with 4500 on any echo over 1 MiB).
#
# A case passes or fails by its behavior: OK, NON-STRICT (allowed by the RFC, not the
# strictest reading) and INFORMATIONAL (the case only records what happened) pass; FAILED
# (and anything else, e.g. UNIMPLEMENTED) fails, each listed with its reason. The closing
# behavior of each case is graded apart by Autobahn; its counts and reasons are printed too,
# but do not fail the run. Last line `N passed, M failed`; exit status 1 on any failure.
#
# Usage: conformance/autobahn.sh [extra cases...]    (e.g. 12.1.1 to add a case)
# Needs: target/release/sockjs-server (cargo build --release -p sockjs-server), python3, pyenv
#        with 2.7.18 (`pyenv install 2.7.18`), network access to PyPI on the first run.
# Environment: SOCKJS_SERVER (binary path), AUTOBAHN_PYTHON2 (a python2.7 to use instead of
#              pyenv's).
# The virtualenv and reports live in target/autobahn/; everything runs on 127.0.0.1 on a free
# port; the server is stopped by pid on exit.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="$root/target/autobahn"
server_bin="${SOCKJS_SERVER:-$root/target/release/sockjs-server}"
venv="$out/venv"
cases=("1.1.*" "2.*" "3.*" "4.*" "5.*" "6.*" "7.*" "9.1.*" "10.*" "$@")

[[ -x "$server_bin" ]] || { echo "autobahn.sh: $server_bin missing (cargo build --release -p sockjs-server)" >&2; exit 2; }
mkdir -p "$out"

# A Python 2.7 virtualenv: autobahntestsuite is Python 2 only, and virtualenv 20.15.1 (run
# from a Python 3 venv) is the last release that creates Python 2 environments.
if [[ ! -x "$venv/bin/wstest" ]]; then
  py2="${AUTOBAHN_PYTHON2:-$(pyenv root)/versions/2.7.18/bin/python}"
  [[ -x "$py2" ]] || { echo "autobahn.sh: no Python 2.7 at $py2 (pyenv install 2.7.18)" >&2; exit 2; }
  rm -rf "$out/bootstrap" "$venv"
  python3 -m venv "$out/bootstrap"
  "$out/bootstrap/bin/pip" install -q virtualenv==20.15.1
  "$out/bootstrap/bin/virtualenv" -q -p "$py2" "$venv"
  # pip's legacy resolver warns that autobahntestsuite pins older Twisted/zope/six; these
  # versions are the ones known to work together on Python 2.7.
  "$venv/bin/pip" install -q autobahntestsuite==25.10.1 autobahn==0.10.9 Twisted==20.3.0 \
    jinja2==2.11.3 MarkupSafe==1.1.1 'zope.interface<6' six 2>&1 | grep -v -i 'deprecat\|conflict\|requires\|resolver' || true
fi

# shellcheck source=tests/lib.sh
. "$root/tests/lib.sh"
port=$(free_port)
pid=
cleanup() {
  if [[ -n "$pid" ]]; then
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
}
trap cleanup EXIT

"$server_bin" --bind "127.0.0.1:$port" --max-message-bytes 16777216 \
  --max-buffered-bytes 67108864 --stats-interval 0 \
  >"$out/server.log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do
  curl -fsS -o /dev/null --max-time 1 "http://127.0.0.1:$port/echo/info" && break
  kill -0 "$pid" 2>/dev/null || { echo "autobahn.sh: the server exited (see $out/server.log)" >&2; exit 2; }
  sleep 0.1
done

rm -rf "$out/reports"
python3 - "$out/spec.json" "$port" "$out/reports" "${cases[@]}" <<'EOF'
import json, sys
path, port, outdir, cases = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
spec = {
    "outdir": outdir,
    "servers": [{"agent": "sockjs-server", "url": "ws://127.0.0.1:%s/echo/websocket" % port}],
    "cases": cases,
    "exclude-cases": [],
    "exclude-agent-cases": {},
}
json.dump(spec, open(path, "w"), indent=2)
EOF

started=$SECONDS
(cd "$out" && "$venv/bin/wstest" -m fuzzingclient -s "$out/spec.json") >"$out/wstest.log" 2>&1 || {
  echo "autobahn.sh: wstest failed (see $out/wstest.log)" >&2
  tail -n 20 "$out/wstest.log" >&2
  exit 1
}
echo "autobahn.sh: wstest took $((SECONDS - started)) s (report: $out/reports/index.html)"

python3 - "$out/reports/index.json" <<'EOF'
import collections, json, os, sys
index = sys.argv[1]
report = json.load(open(index))
passing = {"OK", "NON-STRICT", "INFORMATIONAL"}
def key(case):
    return [int(p) for p in case.split(".")]
def detail(r):
    return json.load(open(os.path.join(os.path.dirname(index), r["reportfile"])))
counts, closing, close_reasons, failed = collections.Counter(), collections.Counter(), collections.defaultdict(list), []
for agent, results in report.items():
    for case in sorted(results, key=key):
        r = results[case]
        counts[r["behavior"]] += 1
        closing[r["behaviorClose"]] += 1
        if r["behavior"] not in passing:
            failed.append((case, r))
        if r["behaviorClose"] not in passing:
            close_reasons[(r["behaviorClose"], detail(r).get("resultClose"))].append(case)
print("behavior:")
for behavior in sorted(counts):
    print("  %-14s %d" % (behavior, counts[behavior]))
print("closing behavior (reported, not counted):")
for behavior in sorted(closing):
    print("  %-16s %d" % (behavior, closing[behavior]))
for (behavior, reason), cases in sorted(close_reasons.items()):
    shown = " ".join(cases[:8]) + (" ..." if len(cases) > 8 else "")
    print("  %s x%d (%s): %s" % (behavior, len(cases), reason, shown))
for case, r in failed:
    print("FAIL %s: %s (%s); remote close code %s" % (case, r["behavior"], detail(r).get("result"), r.get("remoteCloseCode")))
total = sum(counts.values())
print("%d passed, %d failed (OK, NON-STRICT and INFORMATIONAL pass)" % (total - len(failed), len(failed)))
sys.exit(1 if failed else 0)
EOF
