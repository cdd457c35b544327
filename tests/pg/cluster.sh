#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the tests: initdb in a temporary directory as a non-root user, listening
# only on 127.0.0.1 on a free port with trust authentication for loopback, one database `gridline`.
#
#   tests/pg/cluster.sh start   creates and starts the cluster; prints GRIDLINE_TEST_DATABASE_URL=postgres://…
#                               and remembers the cluster in $GRIDLINE_PG_STATE (default /tmp/gridline-pg.state)
#   tests/pg/cluster.sh url     prints the URL of the running cluster
#   tests/pg/cluster.sh stop    stops the cluster and deletes its directory
#
# PostgreSQL refuses to run as root, so as root the cluster runs as the system user `gridline-pg` (created
# when missing). Debian's server binaries live in /usr/lib/postgresql/<major>/bin, outside PATH.
set -euo pipefail

state="${GRIDLINE_PG_STATE:-/tmp/gridline-pg.state}"
pg_user=gridline-pg

bin_dir() {
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  if [[ -z "$dir" ]]; then
    dir=$(dirname "$(command -v initdb 2>/dev/null || echo /nonexistent/initdb)")
  fi
  [[ -x "$dir/initdb" ]] || { echo "cluster.sh: no PostgreSQL server binaries (install Debian's postgresql)" >&2; exit 1; }
  echo "$dir"
}

# Runs a command as the cluster's owner: ourselves unless we are root.
as_owner() {
  if [[ $(id -u) -eq 0 ]]; then
    runuser -u "$pg_user" -- "$@"
  else
    "$@"
  fi
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

start() {
  if [[ -f "$state" ]]; then
    echo "cluster.sh: a cluster is already running ($state); stop it first" >&2
    exit 1
  fi
  local bin dir port url
  bin=$(bin_dir)
  if [[ $(id -u) -eq 0 ]] && ! id "$pg_user" >/dev/null 2>&1; then
    useradd --system --no-create-home --shell /usr/sbin/nologin "$pg_user"
  fi
  dir=$(mktemp -d /tmp/gridline-pg.XXXXXX)
  chmod 755 "$dir"
  [[ $(id -u) -eq 0 ]] && chown "$pg_user" "$dir"
  # Deleted again when anything below fails.
  trap 'as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true; rm -rf "$dir"' ERR
  port=$(free_port)
  # The C locale: text sorts by bytes, as SQLite's does, and no system locale needs to be installed.
  as_owner "$bin/initdb" -D "$dir/data" -U postgres --auth=trust --encoding=UTF8 --no-locale >"$dir/initdb.log" 2>&1
  # Loopback TCP only; the socket directory is the cluster's own, so nothing is written to /var/run.
  as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c max_connections=200 -c fsync=off" start >/dev/null
  as_owner "$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres -q -c 'CREATE DATABASE gridline' >/dev/null
  url="postgres://postgres@127.0.0.1:$port/gridline"
  trap - ERR
  printf 'dir=%s\nbin=%s\nurl=%s\n' "$dir" "$bin" "$url" >"$state"
  echo "GRIDLINE_TEST_DATABASE_URL=$url"
}

field() {
  sed -n "s/^$1=//p" "$state"
}

stop() {
  [[ -f "$state" ]] || return 0
  local dir bin
  dir=$(field dir)
  bin=$(field bin)
  if [[ -d "$dir/data" ]]; then
    as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 \
      || as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  [[ "$dir" == /tmp/gridline-pg.* ]] && rm -rf "$dir"
  rm -f "$state"
}

url() {
  [[ -f "$state" ]] || { echo "cluster.sh: no cluster running" >&2; exit 1; }
  field url
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  url) url ;;
  *) echo "usage: $0 start|stop|url" >&2; exit 2 ;;
esac
