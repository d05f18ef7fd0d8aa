# shellcheck shell=bash
# Sourced by .ci/run (bash, set -euo pipefail): starts a private MariaDB server on
# 127.0.0.1 for the suites that read ZCS_TEST_MYSQL_URL (the directory conformance suite's
# mysql:: tests, the store's engine suites, and the e2e directory backends).
#
# Why it exists: .ci/run exports ZCS_TEST_MYSQL_URL only when something already answers
# on 127.0.0.1:3306 before the setup scripts run; nothing else starts MariaDB, so those
# suites skipped. When the URL is already set (a server the caller provides), this does
# nothing. Uses the mariadb-server package when it is installed; without it the suites
# skip loudly.
#
# Exports, when the server answers (nothing otherwise):
#   ZCS_TEST_MYSQL_URL  mysql://zcs@127.0.0.1:PORT/test (no password; loopback only)
#   ZCS_TEST_MYSQL_PID  the server's PID (stop it with: kill "$ZCS_TEST_MYSQL_PID")
# State lives under target/ci/mariadb; the server runs as the `mysql` system user when
# started as root. Never exits: a failure prints why and returns.

zcs_mariadb_setup() {
  local root work server install client port pid user_opt=()
  if [ -n "${ZCS_TEST_MYSQL_URL:-}" ]; then
    echo "mariadb: using the server already set in ZCS_TEST_MYSQL_URL"
    return 0
  fi
  root=$(pwd)
  work="$root/target/ci/mariadb"
  server=$(command -v mariadbd || command -v mysqld || ls /usr/sbin/mariadbd 2>/dev/null || true)
  install=$(command -v mariadb-install-db || command -v mysql_install_db || true)
  client=$(command -v mariadb || command -v mysql || true)
  if [ -z "$server" ] || [ -z "$install" ] || [ -z "$client" ]; then
    echo "mariadb: server, installer or client not found; MariaDB suites will skip"
    return 0
  fi
  if [ "$(id -u)" = 0 ]; then
    if ! id mysql >/dev/null 2>&1; then
      echo "mariadb: running as root and no mysql user; MariaDB suites will skip"
      return 0
    fi
    user_opt=(--user=mysql)
  fi
  # Stop the server a previous sourcing started (its PID file is ours).
  if [ -f "$work/mariadb.pid" ]; then
    kill "$(cat "$work/mariadb.pid")" 2>/dev/null || true
    for _ in $(seq 50); do
      [ -f "$work/mariadb.pid" ] || break
      sleep 0.1
    done
  fi
  rm -rf "$work"
  mkdir -p "$work/data"
  [ "${#user_opt[@]}" -gt 0 ] && chown -R mysql "$work"
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])') || { echo "mariadb: no free port"; return 0; }
  if ! "$install" --no-defaults --datadir="$work/data" "${user_opt[@]}" \
      --auth-root-authentication-method=socket --skip-test-db \
      >"$work/install.log" 2>&1; then
    echo "mariadb: install-db failed (see $work/install.log); MariaDB suites will skip"
    return 0
  fi
  # Not a daemon by itself: run it in its own session, detached from this shell.
  setsid "$server" --no-defaults --datadir="$work/data" "${user_opt[@]}" \
    --bind-address=127.0.0.1 --port="$port" --socket="$work/mariadb.sock" \
    --pid-file="$work/mariadb.pid" --log-error="$work/server.log" --skip-log-bin \
    --innodb-flush-log-at-trx-commit=0 --innodb-buffer-pool-size=64M \
    --character-set-server=utf8mb4 --collation-server=utf8mb4_bin \
    </dev/null >/dev/null 2>&1 &
  disown 2>/dev/null || true
  local ok=0
  for _ in $(seq 150); do
    if "$client" --no-defaults --socket="$work/mariadb.sock" -uroot -e 'SELECT 1' \
        >/dev/null 2>&1; then
      ok=1
      break
    fi
    sleep 0.2
  done
  pid=$(cat "$work/mariadb.pid" 2>/dev/null || true)
  if [ "$ok" != 1 ]; then
    echo "mariadb: the server did not answer (see $work/server.log); suites will skip"
    [ -n "$pid" ] && kill "$pid" 2>/dev/null
    return 0
  fi
  if ! "$client" --no-defaults --socket="$work/mariadb.sock" -uroot -e \
      "CREATE USER 'zcs'@'127.0.0.1'; GRANT ALL ON *.* TO 'zcs'@'127.0.0.1';
       CREATE DATABASE test;" >"$work/setup.log" 2>&1; then
    echo "mariadb: could not create the test user (see $work/setup.log); suites will skip"
    kill "$pid" 2>/dev/null
    return 0
  fi
  export ZCS_TEST_MYSQL_URL="mysql://zcs@127.0.0.1:$port/test"
  export ZCS_TEST_MYSQL_PID="$pid"
  echo "mariadb: $ZCS_TEST_MYSQL_URL (pid $pid)"
}

zcs_mariadb_setup || echo "mariadb: setup failed; MariaDB suites will skip"
unset -f zcs_mariadb_setup
