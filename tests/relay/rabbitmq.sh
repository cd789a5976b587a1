#!/usr/bin/env bash
# A private RabbitMQ node with the STOMP plugin, on loopback, for the relay tests.
#   tests/relay/rabbitmq.sh start   installs Debian's rabbitmq-server if missing, enables
#                                   rabbitmq_stomp offline, starts a node whose config, data
#                                   and logs live under target/rabbitmq/, waits for STOMP,
#                                   prints "STOMP_PORT=<port>" (also in target/rabbitmq/env)
#   tests/relay/rabbitmq.sh stop    rabbitmqctl stop, then its epmd (by pid)
#   tests/relay/rabbitmq.sh status  exits 0 if the node answers
# The node runs as the calling user (not the package's `rabbitmq` user): it reads and writes
# only target/rabbitmq/. Ports are picked free at start and reused on a restart, so a test can
# stop and start the broker mid-run and clients find it again at the same address.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
base="${RABBITMQ_DIR:-$root/target/rabbitmq}"
START_TRIES=600   # x 0.1 s: the node answers on STOMP ~11 s after launch on this machine kind

# shellcheck source=tests/lib.sh
. "$root/tests/lib.sh"

node_env() {
  # shellcheck disable=SC1091
  . "$base/env"
  export RABBITMQ_NODENAME="sockjs-relay-$AMQP_PORT@localhost"
  export RABBITMQ_MNESIA_BASE="$base/mnesia"
  export RABBITMQ_LOG_BASE="$base/log"
  export RABBITMQ_CONFIG_FILE="$base/rabbitmq"          # .conf is appended
  export RABBITMQ_ENABLED_PLUGINS_FILE="$base/enabled_plugins"
  export RABBITMQ_PID_FILE="$base/pid"
  export RABBITMQ_DIST_PORT="$DIST_PORT"
  export ERL_EPMD_PORT="$EPMD_PORT"
  export ERL_EPMD_ADDRESS=127.0.0.1
  export RABBITMQ_CONF_ENV_FILE="$base/rabbitmq-env.conf"
  export HOME="$base/home"
}

install() {
  if ! command -v rabbitmq-server >/dev/null && [ ! -x /usr/sbin/rabbitmq-server ]; then
    echo "rabbitmq.sh: installing rabbitmq-server" >&2
    apt-get install -y rabbitmq-server >/dev/null 2>&1 \
      || { apt-get update >/dev/null && apt-get install -y rabbitmq-server >/dev/null; }
  fi
}

start() {
  install
  mkdir -p "$base/mnesia" "$base/log" "$base/home"
  if [ ! -f "$base/env" ]; then
    {
      echo "AMQP_PORT=$(free_port)"
      echo "STOMP_PORT=$(free_port)"
      echo "DIST_PORT=$(free_port)"
      echo "EPMD_PORT=$(free_port)"
    } >"$base/env"
  fi
  node_env
  : >"$RABBITMQ_CONF_ENV_FILE"
  cat >"$base/rabbitmq.conf" <<CONF
listeners.tcp.1 = 127.0.0.1:$AMQP_PORT
stomp.listeners.tcp.1 = 127.0.0.1:$STOMP_PORT
stomp.default_user = guest
stomp.default_pass = guest
loopback_users = none
log.console = false
log.file.level = info
CONF
  echo "[rabbitmq_stomp]." >"$RABBITMQ_ENABLED_PLUGINS_FILE"
  rabbitmq-plugins enable --offline rabbitmq_stomp >/dev/null 2>&1 || true
  # The Debian wrapper su's to user rabbitmq when run as root; call the real script instead.
  server=/usr/lib/rabbitmq/bin/rabbitmq-server
  [ -x "$server" ] || server="$(command -v rabbitmq-server)"
  nohup "$server" >"$base/log/console.log" 2>&1 &
  echo $! >"$base/server.pid"
  if wait_listening "$STOMP_PORT" $! "$START_TRIES"; then
    echo "STOMP_PORT=$STOMP_PORT"
    return 0
  fi
  echo "rabbitmq.sh: the node did not start; see $base/log" >&2
  tail -20 "$base/log/console.log" >&2 || true
  return 1
}

stop() {
  [ -f "$base/env" ] || return 0
  node_env
  ctl=/usr/lib/rabbitmq/bin/rabbitmqctl
  [ -x "$ctl" ] || ctl="$(command -v rabbitmqctl)"
  timeout 60 "$ctl" stop >/dev/null 2>&1 || true
  if [ -f "$base/server.pid" ]; then
    stop_pids "$(cat "$base/server.pid")"
    rm -f "$base/server.pid"
  fi
  # Our epmd only: the one listening on our private EPMD port.
  for pid in $(pgrep -x epmd 2>/dev/null || true); do
    if tr '\0' ' ' <"/proc/$pid/environ" 2>/dev/null | grep -q "ERL_EPMD_PORT=$EPMD_PORT"; then
      kill "$pid" 2>/dev/null || true
    fi
  done
}

status() {
  [ -f "$base/env" ] || return 1
  node_env
  port_open "$STOMP_PORT"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
