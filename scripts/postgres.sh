# Sourced by test.sh: a throwaway PostgreSQL server on a loopback port, owned by the
# `postgres` user (initdb refuses to run as root), deleted on exit.
# shellcheck shell=bash
pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)
pg_start() {
  PG_DIR=$(mktemp -d /tmp/telehealth-pg.XXXXXX)
  PG_PORT=${PG_PORT:-55432}
  while (echo > "/dev/tcp/127.0.0.1/$PG_PORT") 2>/dev/null; do PG_PORT=$((PG_PORT + 1)); done
  local run=()
  if [ "$(id -u)" -eq 0 ]; then chown postgres "$PG_DIR"; run=(runuser -u postgres --); fi
  PG_RUN=("${run[@]}")
  "${run[@]}" "$pg_bin/initdb" -D "$PG_DIR/data" -A trust -U postgres >"$PG_DIR/initdb.log"
  "${run[@]}" "$pg_bin/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/log" -w \
    -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -k $PG_DIR -c fsync=off -c max_connections=400" start >/dev/null
  export TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$PG_PORT/postgres"
}
pg_stop() {
  if [ -n "${PG_DIR:-}" ]; then
    "${PG_RUN[@]}" "$pg_bin/pg_ctl" -D "$PG_DIR/data" -m fast -w stop >/dev/null 2>&1 || true
    rm -rf "$PG_DIR"
  fi
}
