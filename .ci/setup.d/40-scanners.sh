# shellcheck shell=bash
# Sourced by .ci/run (bash, set -euo pipefail): installs ClamAV's clamd and SpamAssassin's
# spamd from Debian and starts private instances on 127.0.0.1 (CI-RECIPES §2-3):
# - clamd with an offline database of two hand-made EICAR signatures (no freshclam);
# - spamd with local tests only (no DNS blocklists, Razor, Pyzor); Bayes kept in the
#   work directory and learning allowed (TELL) for zmtrainsa, no auto-learning.
#
# Exports, for each daemon that answers (nothing otherwise, so the suites skip loudly):
#   ZCS_TEST_CLAMD      127.0.0.1:PORT of clamd (INSTREAM)
#   ZCS_TEST_SPAMD      127.0.0.1:PORT of spamd (SPAMC/1.5)
#   ZCS_TEST_CLAMD_PID, ZCS_TEST_SPAMD_PID   their PIDs (stop with kill)
# State lives under target/ci/scanners. Never exits: a failure prints why and returns.

zcs_free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

zcs_scanners_install() {
  local need=()
  command -v clamd >/dev/null 2>&1 || [ -x /usr/sbin/clamd ] || need+=(clamav-daemon)
  [ -x /usr/sbin/spamd ] || need+=(spamd spamassassin)
  [ ${#need[@]} = 0 ] && return 0
  if [ "$(id -u)" != 0 ]; then
    echo "scanners: ${need[*]} not installed and not root; scanner suites will skip"
    return 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  # Maintainer scripts must not start the system daemons nor run freshclam (CI-RECIPES §0).
  local made_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    made_policy=1
  fi
  echo 'clamav-freshclam clamav-freshclam/autoupdate_freshclam select manual' \
    | debconf-set-selections || true
  local ok=0
  { apt-get update -qq && apt-get install -y -qq --no-install-recommends \
      "${need[@]}" >/dev/null; } || ok=1
  [ "$made_policy" = 1 ] && rm -f /usr/sbin/policy-rc.d
  # The spamassassin postinst leaves a gpg-agent running as debian-spamd (CI-RECIPES §3).
  if id debian-spamd >/dev/null 2>&1; then
    su -s /bin/sh debian-spamd -c 'gpgconf --kill gpg-agent' >/dev/null 2>&1 || true
  fi
  if [ "$ok" != 0 ]; then
    echo "scanners: apt-get install ${need[*]} failed; scanner suites will skip"
    return 1
  fi
}

zcs_clamd_start() {
  local work=$1 port pid
  mkdir -p "$work/clamav/db"
  # The 68-byte EICAR test file, and signatures for it: MD5 (.hdb) and body (.ndb).
  printf '%s' 'X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*' \
    > "$work/clamav/eicar.com"
  printf '%s:%s:Test.EICAR.HDB\n' "$(md5sum < "$work/clamav/eicar.com" | cut -d' ' -f1)" \
    "$(stat -c %s "$work/clamav/eicar.com")" > "$work/clamav/db/test.hdb"
  printf 'Test.EICAR.NDB:0:*:%s\n' \
    "$(printf '%s' 'EICAR-STANDARD-ANTIVIRUS-TEST-FILE' | od -An -tx1 | tr -d ' \n')" \
    > "$work/clamav/db/test.ndb"
  port=$(zcs_free_port) || { echo "clamd: no free port"; return 0; }
  cat > "$work/clamav/clamd.conf" <<EOF
Foreground yes
TCPSocket $port
TCPAddr 127.0.0.1
DatabaseDirectory $work/clamav/db
PidFile $work/clamav/clamd.pid
LogFile $work/clamav/clamd.log
LogTime yes
SelfCheck 0
EOF
  local clamd=clamd
  command -v clamd >/dev/null 2>&1 || clamd=/usr/sbin/clamd
  "$clamd" --config-file="$work/clamav/clamd.conf" > "$work/clamav/clamd.out" 2>&1 &
  pid=$!
  local t0 i r
  t0=$(date +%s%N)
  for i in $(seq 300); do
    r=$( { exec 3<>"/dev/tcp/127.0.0.1/$port" && printf 'nPING\n' >&3 && head -c 4 <&3; } \
         2>/dev/null ) || true
    [ "$r" = PONG ] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if [ "$r" != PONG ]; then
    echo "clamd: did not answer PING; see $work/clamav/clamd.out; virus suites will skip"
    kill "$pid" 2>/dev/null || true
    return 0
  fi
  export ZCS_TEST_CLAMD="127.0.0.1:$port" ZCS_TEST_CLAMD_PID=$pid
  echo "clamd pid $pid on $ZCS_TEST_CLAMD, ready after $(( ($(date +%s%N) - t0) / 1000000 )) ms"
}

zcs_spamd_start() {
  local work=$1 port pid
  mkdir -p "$work/spamd/home"
  chown debian-spamd:debian-spamd "$work/spamd/home" 2>/dev/null || true
  port=$(zcs_free_port) || { echo "spamd: no free port"; return 0; }
  local user_args=()
  if [ "$(id -u)" = 0 ]; then
    user_args=(--username=debian-spamd --groupname=debian-spamd)
  fi
  /usr/sbin/spamd --listen="127.0.0.1:$port" --allowed-ips=127.0.0.1 --local --nouser-config \
    "${user_args[@]}" --helper-home-dir="$work/spamd/home" \
    --max-children=2 --min-children=1 --allow-tell --cf='use_bayes 1' \
    --cf='bayes_auto_learn 0' --cf="bayes_path $work/spamd/home/bayes" \
    --syslog="$work/spamd/spamd.log" --pidfile="$work/spamd/spamd.pid" \
    > "$work/spamd/spamd.out" 2>&1 &
  pid=$!
  local t0 i r
  t0=$(date +%s%N)
  for i in $(seq 600); do
    r=$( { exec 3<>"/dev/tcp/127.0.0.1/$port" && printf 'PING SPAMC/1.5\r\n\r\n' >&3 \
           && head -1 <&3; } 2>/dev/null ) || true
    case "$r" in *PONG*) break;; esac
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  case "$r" in
    *PONG*) ;;
    *)
      echo "spamd: did not answer PING; see $work/spamd/spamd.out; spam suites will skip"
      kill "$pid" 2>/dev/null || true
      return 0;;
  esac
  # spamd forks: the PID file names the parent that owns the children.
  [ -f "$work/spamd/spamd.pid" ] && pid=$(cat "$work/spamd/spamd.pid")
  export ZCS_TEST_SPAMD="127.0.0.1:$port" ZCS_TEST_SPAMD_PID=$pid
  echo "spamd pid $pid on $ZCS_TEST_SPAMD, ready after $(( ($(date +%s%N) - t0) / 1000000 )) ms"
}

zcs_scanners_setup() {
  local work t0
  t0=$(date +%s)
  work="$(pwd)/target/ci/scanners"
  zcs_scanners_install || return 0
  # Stop the daemons a previous sourcing started (their PID files are ours).
  local f
  for f in "$work/clamav/clamd.pid" "$work/spamd/spamd.pid"; do
    [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null || true
  done
  rm -rf "$work"
  mkdir -p "$work"
  zcs_clamd_start "$work"
  zcs_spamd_start "$work"
  echo "scanners: setup took $(( $(date +%s) - t0 )) s"
}

zcs_scanners_setup
