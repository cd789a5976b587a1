# The one shell library of the test and benchmark runners: source it, `. "$root/tests/lib.sh"`
# (bash 4.4 or later; it sets no shell options and works under `set -euo pipefail`).
# Network: 127.0.0.1 only. Every process is stopped by its pid, never by name.
#
#   free_port                  prints a TCP port free on 127.0.0.1 now
#   port_open PORT             whether something accepts connections on 127.0.0.1:PORT
#   binary NAME                prints the path of the release binary NAME (sockjs-server,
#                              conformance, torture, loadgen, bench-floor), found one way:
#                              $SOCKJS_SERVER / $CONFORMANCE / $TORTURE / $LOADGEN / $BENCH_FLOOR
#                              if set, else ${CARGO_TARGET_DIR:-<repo>/target}/release/NAME.
#                              Builds nothing: if it is missing, says which `cargo build`
#                              makes it and fails with status 2
#   server_binary              binary sockjs-server
#   wait_listening PORT PID [TRIES]
#                              waits until 127.0.0.1:PORT accepts, TRIES x 0.1 s at most
#                              (default 100, 10 s); fails at once, saying so, if PID exits first
#   track PID...               records processes this script started, for stop_tracked
#   stop_tracked               stops every tracked process: SIGTERM, up to STOP_TRIES x 0.1 s
#                              (default 100) for each to exit, then SIGKILL; reaps them and
#                              forgets them (a script may call it mid-run, then start others)
#   stop_pids PID...           the same for the given pids only (tracked or not)
#   stomp_clients_ready        whether tests/clients' node and Python STOMP clients are
#                              installed; names the install command of a missing one
#   stop_tracked_on_exit [COMMAND [ARGS...]]
#                              the one trap: on exit, stop_tracked, then COMMAND if given (e.g.
#                              a broker's stop); SIGINT and SIGTERM exit (130, 143) through it
#
# A runner, typically:
#   server=$(server_binary)                  # exits 2 with the build command if missing
#   stop_tracked_on_exit
#   "$server" --bind "127.0.0.1:$port" >"$log" 2>&1 &
#   track $!
#   wait_listening "$port" $! || { cat "$log" >&2; exit 1; }

_lib_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
_lib_tracked=()
_lib_on_exit=()

# free_port: prints a TCP port that is free on 127.0.0.1 now.
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# port_open PORT: whether something accepts connections on 127.0.0.1:PORT.
port_open() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# binary NAME: the release binary NAME's path (see the top).
binary() {
  local var package path
  case "$1" in
    sockjs-server) var=SOCKJS_SERVER package=sockjs-server ;;
    conformance) var=CONFORMANCE package=conformance ;;
    torture) var=TORTURE package=conformance ;;
    loadgen) var=LOADGEN package=loadgen ;;
    bench-floor) var=BENCH_FLOOR package=loadgen ;;
    *) echo "tests/lib.sh: binary: unknown binary '$1'" >&2; return 2 ;;
  esac
  path="${!var:-${CARGO_TARGET_DIR:-$_lib_root/target}/release/$1}"
  if [[ ! -x "$path" ]]; then
    echo "${0##*/}: $path missing; build it with: cargo build --release -p $package --bins" \
      "(or set $var to the binary's path)" >&2
    return 2
  fi
  echo "$path"
}

# server_binary: the sockjs-server release binary's path (see binary).
server_binary() {
  binary sockjs-server
}

# wait_listening PORT PID [TRIES]: see the top.
wait_listening() {
  local port="$1" pid="$2" tries="${3:-100}" i
  for ((i = 0; i < tries; i++)); do
    port_open "$port" && return 0
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "${0##*/}: process $pid exited before 127.0.0.1:$port accepted connections" >&2
      return 1
    fi
    sleep 0.1
  done
  echo "${0##*/}: nothing accepts on 127.0.0.1:$port after $((tries / 10)) s (process $pid)" >&2
  return 1
}

# track PID...: see the top.
track() {
  _lib_tracked+=("$@")
}

# stop_pids PID...: SIGTERM, a bounded wait, then SIGKILL; reaps our children among them.
stop_pids() {
  local pid i
  for pid in "$@"; do kill "$pid" 2>/dev/null || true; done
  for pid in "$@"; do
    for ((i = 0; i < ${STOP_TRIES:-100}; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
      echo "${0##*/}: process $pid still running after SIGTERM; SIGKILL" >&2
      kill -9 "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
  done
}

# stop_tracked: stop_pids on every tracked process, which are then forgotten.
stop_tracked() {
  stop_pids "${_lib_tracked[@]}"
  _lib_tracked=()
}

# stomp_clients_ready: see the top.
stomp_clients_ready() {
  if [[ ! -d "$_lib_root/tests/clients/node_modules/@stomp/stompjs" ]]; then
    echo "${0##*/}: node deps missing; run: npm ci --prefix tests/clients" >&2
    return 2
  fi
  if ! python3 -c 'import stomp' 2>/dev/null; then
    echo "${0##*/}: stomp.py missing; run: pip install -r tests/clients/requirements.txt" >&2
    return 2
  fi
}

# stop_tracked_on_exit [COMMAND [ARGS...]]: see the top.
stop_tracked_on_exit() {
  _lib_on_exit=("$@")
  # Only in this shell: a child killed between its fork and its exec runs the trap too.
  _lib_trap_pid=$BASHPID
  trap '_lib_status=$?
    if [[ $BASHPID == "$_lib_trap_pid" ]]; then
      stop_tracked
      [[ ${#_lib_on_exit[@]} -eq 0 ]] || "${_lib_on_exit[@]}" || true
    fi
    exit $_lib_status' EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}
