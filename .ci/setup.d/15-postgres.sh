# shellcheck shell=bash
# Sourced by .ci/run (bash, set -euo pipefail): starts a private PostgreSQL cluster on
# 127.0.0.1 for the suites that read ZCS_TEST_POSTGRES_URL (the SQLite -> PostgreSQL
# directory restore in zcs-backup/tests/cross_backend.rs, and any other PostgreSQL suite).
#
# Why it exists: .ci/run exports ZCS_TEST_POSTGRES_URL only when something already
# answers on 127.0.0.1:5432 before the setup scripts run, and nothing starts PostgreSQL
# (CI-RECIPES §7: the Debian cluster is installed but down), so those suites always
# skipped. When the URL is already set (a server the caller provides), this does nothing.
#
# Exports, when the server answers (nothing otherwise, so the suites skip loudly):
#   ZCS_TEST_POSTGRES_URL  postgres://zcs@127.0.0.1:PORT/test (trust auth on loopback)
#   ZCS_TEST_POSTGRES_PID  the postmaster's PID
# State lives under target/ci/postgres; the cluster runs as the `postgres` system user
# (the server refuses to run as root). Never exits: a failure prints why and returns.

zcs_postgres_setup() {
  local root work bin port pid run_as=()
  if [ -n "${ZCS_TEST_POSTGRES_URL:-}" ]; then
    echo "postgres: using the server already set in ZCS_TEST_POSTGRES_URL"
    return 0
  fi
  root=$(pwd)
  work="$root/target/ci/postgres"
  bin=""
  for d in /usr/lib/postgresql/*/bin /usr/local/bin /usr/bin; do
    if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then bin=$d; break; fi
  done
  if [ -z "$bin" ]; then
    echo "postgres: initdb/pg_ctl not found; PostgreSQL suites will skip"
    return 0
  fi
  if [ "$(id -u)" = 0 ]; then
    if ! id postgres >/dev/null 2>&1; then
      echo "postgres: running as root and no postgres user; PostgreSQL suites will skip"
      return 0
    fi
    run_as=(runuser -u postgres --)
  fi
  # Stop the cluster a previous sourcing started (its data directory is ours).
  if [ -f "$work/data/postmaster.pid" ]; then
    "${run_as[@]}" "$bin/pg_ctl" -D "$work/data" -m immediate stop >/dev/null 2>&1 || true
  fi
  rm -rf "$work"
  mkdir -p "$work"
  [ "${#run_as[@]}" -gt 0 ] && chown postgres "$work"
  # A free loopback port: 5432 if nothing answers there, else the first free one above.
  port=5432
  while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
    port=$((port + 1))
    [ "$port" -gt 5500 ] && { echo "postgres: no free port"; return 0; }
  done
  if ! "${run_as[@]}" "$bin/initdb" -D "$work/data" -U zcs --auth=trust \
      --encoding=UTF8 --locale=C >"$work/initdb.log" 2>&1; then
    echo "postgres: initdb failed (see $work/initdb.log); PostgreSQL suites will skip"
    return 0
  fi
  if ! "${run_as[@]}" "$bin/pg_ctl" -D "$work/data" -l "$work/server.log" -w -t 60 \
      -o "-c listen_addresses=127.0.0.1 -p $port -k $work -c fsync=off" start \
      >/dev/null 2>&1; then
    echo "postgres: the server did not start (see $work/server.log); suites will skip"
    return 0
  fi
  if ! "${run_as[@]}" "$bin/createdb" -h 127.0.0.1 -p "$port" -U zcs test >/dev/null 2>&1
  then
    echo "postgres: createdb test failed; PostgreSQL suites will skip"
    return 0
  fi
  pid=$(head -1 "$work/data/postmaster.pid" 2>/dev/null || true)
  export ZCS_TEST_POSTGRES_URL="postgres://zcs@127.0.0.1:$port/test"
  export ZCS_TEST_POSTGRES_PID="$pid"
  echo "postgres: $ZCS_TEST_POSTGRES_URL (pid $pid)"
}

zcs_postgres_setup
