# shellcheck shell=bash
# Sourced by .ci/run (bash, set -euo pipefail): installs Debian's opendkim package and
# starts a private OpenDKIM on 127.0.0.1 in verify mode, a real milter for the milter
# client suite (zcs-mta/tests/milter.rs). It adds an Authentication-Results field to
# every message (AlwaysAddARHeader), so the suite can see a real milter's edit.
#
#   ZCS_TEST_MILTER        127.0.0.1:PORT of that OpenDKIM
#   ZCS_TEST_MILTER_PID    its PID (stop with kill)
#
# State lives under target/ci/milter. Never exits: a failure prints why and returns, and
# the suite skips loudly.

zcs_milter_setup() {
  local work port pid
  work="$(pwd)/target/ci/milter"
  if ! command -v opendkim >/dev/null 2>&1; then
    if [ "$(id -u)" != 0 ]; then
      echo "milter: opendkim not installed and not root; the real-milter test will skip"
      return 0
    fi
    local made_policy=0
    if [ ! -e /usr/sbin/policy-rc.d ]; then
      printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
      chmod 755 /usr/sbin/policy-rc.d
      made_policy=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends opendkim \
      >/dev/null 2>&1 || true
    [ "$made_policy" = 1 ] && rm -f /usr/sbin/policy-rc.d
    if ! command -v opendkim >/dev/null 2>&1; then
      echo "milter: apt-get install opendkim failed; the real-milter test will skip"
      return 0
    fi
  fi
  if [ -s "$work/opendkim.pid" ]; then
    kill "$(cat "$work/opendkim.pid")" 2>/dev/null || true
  fi
  rm -rf "$work"
  mkdir -p "$work"
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  cat > "$work/opendkim.conf" <<CONF
Mode v
Socket inet:$port@127.0.0.1
PidFile $work/opendkim.pid
Syslog no
UserID nobody
AuthservID zcs-ci
AlwaysAddARHeader yes
DNSTimeout 1
CONF
  opendkim -f -x "$work/opendkim.conf" > "$work/opendkim.log" 2>&1 &
  pid=$!
  for _ in $(seq 50); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      export ZCS_TEST_MILTER="127.0.0.1:$port"
      export ZCS_TEST_MILTER_PID="$pid"
      echo "milter: OpenDKIM (verify) on $ZCS_TEST_MILTER (pid $pid)"
      return 0
    fi
    sleep 0.1
  done
  kill "$pid" 2>/dev/null || true
  echo "milter: OpenDKIM did not start; the real-milter test will skip"
}

zcs_milter_setup
