#!/bin/sh
# A dedicated Postgres 15 for the soak: its own data directory and port, every setting at its
# default (autovacuum on), so the soak neither disturbs nor inherits the shared cluster's
# settings. Usage: bench/soak/postgres.sh start|stop [datadir] [port]
set -eu
BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
DIR=${2:-/tmp/mailroom-soak-pg}
PORT=${3:-5442}
# initdb and postgres refuse to run as root: use the postgres account then.
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
case "${1:-}" in
  start)
    if [ ! -f "$DIR/data/PG_VERSION" ]; then
      mkdir -p "$DIR"
      [ "$(id -u)" = 0 ] && chown postgres:postgres "$DIR"
      as_pg "$BIN/initdb" -D "$DIR/data" -U postgres --auth=trust >/dev/null
    fi
    as_pg "$BIN/pg_ctl" -D "$DIR/data" -l "$DIR/log" -w \
      -o "-p $PORT -k /tmp -c listen_addresses=127.0.0.1" start
    echo "soak Postgres on 127.0.0.1:$PORT (data $DIR/data): SOAK_DATABASE_URL=postgres://postgres@127.0.0.1:$PORT/mailroom_soak"
    ;;
  stop) as_pg "$BIN/pg_ctl" -D "$DIR/data" -m fast stop ;;
  *) echo "usage: $0 start|stop [datadir] [port]" >&2; exit 2 ;;
esac
