# Starting the deploy/ proxy configs in tests: shared by deploy/test-proxies.sh and
# tests/browser/run-corpus.sh. Source it (after tests/lib.sh); the caller owns an array `pids`,
# to which every process started here is appended, and stops those by pid on exit.
# nginx and apache2 (Debian packages) run in the foreground as the caller's children.
# Network: 127.0.0.1 only.

# wait_for URL: at most ~10 s for URL to answer 200.
wait_for() {
  for _ in $(seq 1 100); do
    if curl -fs -o /dev/null --max-time 1 "$1"; then return 0; fi
    sleep 0.1
  done
  echo "proxies.sh: $1 did not come up" >&2
  return 1
}

# render TEMPLATE OUTPUT KEY=VALUE...: replaces each {{KEY}} in TEMPLATE.
render() {
  local template="$1" output="$2" expr=() kv
  shift 2
  for kv in "$@"; do expr+=(-e "s|{{${kv%%=*}}}|${kv#*=}|g"); done
  sed "${expr[@]}" "$template" >"$output"
  if grep -q '{{' "$output"; then echo "proxies.sh: unrendered placeholder in $output" >&2; exit 2; fi
}

# start_nginx DIR TEMPLATE KEY=VALUE...: renders TEMPLATE (a deploy/nginx*.conf) into
# DIR/nginx.conf with RUN_DIR=DIR, tests it and starts nginx on it.
start_nginx() {
  local dir="$1" template="$2"
  shift 2
  mkdir -p "$dir"
  render "$template" "$dir/nginx.conf" "RUN_DIR=$dir" "$@"
  nginx -t -q -p "$dir" -e "$dir/error.log" -c "$dir/nginx.conf"
  nginx -p "$dir" -e "$dir/error.log" -c "$dir/nginx.conf" -g 'daemon off;' &
  pids+=($!)
}

# start_apache DIR LISTEN_PORT BACKEND: renders deploy/apache.conf into DIR/apache.conf
# (Apache on 127.0.0.1:LISTEN_PORT in front of BACKEND, host:port), tests it and starts it.
start_apache() {
  local dir="$1" port="$2" backend="$3"
  mkdir -p "$dir"
  render "$(dirname "${BASH_SOURCE[0]}")/apache.conf" "$dir/apache.conf" \
    "LISTEN=127.0.0.1:$port" "LISTEN_PORT=$port" "BACKEND=$backend" "RUN_DIR=$dir"
  local check
  if ! check=$(apache2 -t -f "$dir/apache.conf" 2>&1); then echo "$check" >&2; return 1; fi
  apache2 -f "$dir/apache.conf" -DFOREGROUND &
  pids+=($!)
}
