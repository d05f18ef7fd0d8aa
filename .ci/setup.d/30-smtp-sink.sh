# shellcheck shell=bash
# Sourced by .ci/run (bash, set -euo pipefail): installs Debian's postfix package for its
# smtp-sink test server (Postfix itself stays unconfigured and stopped, CI-RECIPES §4) and
# starts three private sinks on 127.0.0.1 for the outbound relay suite
# (zcs-mta/tests/outbound_smtp_sink.rs):
#
#   ZCS_TEST_SMTP_SINK            127.0.0.1:PORT, accepts everything, dumps each message
#   ZCS_TEST_SMTP_SINK_DIR        the directory those dumps go to
#   ZCS_TEST_SMTP_SINK_TEMPFAIL   127.0.0.1:PORT, answers every RCPT with 4xx (-r RCPT)
#   ZCS_TEST_SMTP_SINK_PERMFAIL   127.0.0.1:PORT, answers every RCPT with 5xx (-f RCPT)
#   ZCS_TEST_SMTP_SINK_PIDS       their PIDs (stop with kill)
#
# State lives under target/ci/smtp-sink. Never exits: a failure prints why and returns, and
# the suite skips loudly.

zcs_smtp_sink_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

zcs_smtp_sink_install() {
  command -v smtp-sink >/dev/null 2>&1 && return 0
  if [ "$(id -u)" != 0 ]; then
    echo "smtp-sink: postfix not installed and not root; the relay suite will skip"
    return 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  # "No configuration": no main.cf, so Postfix cannot start or listen anywhere.
  echo 'postfix postfix/main_mailer_type select No configuration' | debconf-set-selections || true
  local made_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    made_policy=1
  fi
  local ok=0
  { apt-get update -qq && apt-get install -y -qq --no-install-recommends postfix >/dev/null; } \
    || ok=1
  [ "$made_policy" = 1 ] && rm -f /usr/sbin/policy-rc.d
  if [ "$ok" != 0 ] || ! command -v smtp-sink >/dev/null 2>&1; then
    echo "smtp-sink: apt-get install postfix failed; the relay suite will skip"
    return 1
  fi
}

# zcs_smtp_sink_start WORK NAME [smtp-sink options...]: prints "PORT PID" once it answers.
zcs_smtp_sink_start() {
  local work=$1 name=$2 port pid
  shift 2
  port=$(zcs_smtp_sink_port)
  mkdir -p "$work/$name"
  smtp-sink -u nobody -c "$@" "127.0.0.1:$port" 100 > "$work/$name/sink.out" 2>&1 &
  pid=$!
  for _ in $(seq 50); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port $pid"
      return 0
    fi
    sleep 0.1
  done
  kill "$pid" 2>/dev/null || true
  return 1
}

zcs_smtp_sink_setup() {
  local work ok tf pf
  work="$(pwd)/target/ci/smtp-sink"
  zcs_smtp_sink_install || return 0
  # Stop sinks left by an earlier run of this script.
  if [ -s "$work/pids" ]; then
    # shellcheck disable=SC2046
    kill $(cat "$work/pids") 2>/dev/null || true
  fi
  rm -rf "$work"
  mkdir -p "$work/mail"
  chown nobody "$work/mail"
  ok=$(zcs_smtp_sink_start "$work" ok -d "$work/mail/%H%M%S.") || {
    echo "smtp-sink: did not start; the relay suite will skip"
    return 0
  }
  tf=$(zcs_smtp_sink_start "$work" tempfail -r RCPT) || tf=""
  pf=$(zcs_smtp_sink_start "$work" permfail -f RCPT) || pf=""
  if [ -z "$tf" ] || [ -z "$pf" ]; then
    echo "smtp-sink: failure sinks did not start; the relay suite will skip"
    # shellcheck disable=SC2086
    kill ${ok#* } ${tf#* } ${pf#* } 2>/dev/null || true
    return 0
  fi
  echo "${ok#* } ${tf#* } ${pf#* }" > "$work/pids"
  export ZCS_TEST_SMTP_SINK="127.0.0.1:${ok% *}"
  export ZCS_TEST_SMTP_SINK_DIR="$work/mail"
  export ZCS_TEST_SMTP_SINK_TEMPFAIL="127.0.0.1:${tf% *}"
  export ZCS_TEST_SMTP_SINK_PERMFAIL="127.0.0.1:${pf% *}"
  ZCS_TEST_SMTP_SINK_PIDS=$(cat "$work/pids")
  export ZCS_TEST_SMTP_SINK_PIDS
  echo "smtp-sink: ok $ZCS_TEST_SMTP_SINK, tempfail $ZCS_TEST_SMTP_SINK_TEMPFAIL," \
    "permfail $ZCS_TEST_SMTP_SINK_PERMFAIL (pids $ZCS_TEST_SMTP_SINK_PIDS)"
}

zcs_smtp_sink_setup
