# Starting the deploy/ proxy configs in tests: shared by deploy/test-proxies.sh and
# tests/browser/run-corpus.sh. Source it after tests/lib.sh: every process started here is
# tracked (tests/lib.sh's track), so the caller's stop_tracked stops it by pid, and each start_*
# returns once its proxy accepts connections.
# nginx and apache2 (Debian packages) run in the foreground as the caller's children.
# Network: 127.0.0.1 only.

# render TEMPLATE OUTPUT KEY=VALUE...: replaces each {{KEY}} in TEMPLATE.
render() {
  local template="$1" output="$2" expr=() kv
  shift 2
  for kv in "$@"; do expr+=(-e "s|{{${kv%%=*}}}|${kv#*=}|g"); done
  sed "${expr[@]}" "$template" >"$output"
  if grep -q '{{' "$output"; then echo "proxies.sh: unrendered placeholder in $output" >&2; exit 2; fi
}

# start_nginx DIR TEMPLATE LISTEN=127.0.0.1:PORT KEY=VALUE...: renders TEMPLATE (a
# deploy/nginx*.conf) into DIR/nginx.conf with RUN_DIR=DIR, tests it, starts nginx on it and
# waits until PORT accepts.
start_nginx() {
  local dir="$1" template="$2" kv port=
  shift 2
  for kv in "$@"; do if [[ "$kv" == LISTEN=* ]]; then port="${kv##*:}"; fi; done
  [[ -n "$port" ]] || { echo "proxies.sh: start_nginx needs LISTEN=127.0.0.1:PORT" >&2; return 2; }
  mkdir -p "$dir"
  render "$template" "$dir/nginx.conf" "RUN_DIR=$dir" "$@"
  nginx -t -q -p "$dir" -e "$dir/error.log" -c "$dir/nginx.conf"
  nginx -p "$dir" -e "$dir/error.log" -c "$dir/nginx.conf" -g 'daemon off;' &
  track $!
  wait_listening "$port" $! || { tail -n 20 "$dir/error.log" >&2 || true; return 1; }
}

# start_apache DIR LISTEN_PORT BACKEND: renders deploy/apache.conf into DIR/apache.conf
# (Apache on 127.0.0.1:LISTEN_PORT in front of BACKEND, host:port), tests it, starts it and
# waits until LISTEN_PORT accepts.
start_apache() {
  local dir="$1" port="$2" backend="$3"
  mkdir -p "$dir"
  render "$(dirname "${BASH_SOURCE[0]}")/apache.conf" "$dir/apache.conf" \
    "LISTEN=127.0.0.1:$port" "LISTEN_PORT=$port" "BACKEND=$backend" "RUN_DIR=$dir"
  local check
  if ! check=$(apache2 -t -f "$dir/apache.conf" 2>&1); then echo "$check" >&2; return 1; fi
  apache2 -f "$dir/apache.conf" -DFOREGROUND &
  track $!
  wait_listening "$port" $! || { tail -n 20 "$dir/error.log" >&2 || true; return 1; }
}
