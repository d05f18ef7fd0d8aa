# shellcheck shell=bash
# Sourced by .ci/run (bash, set -euo pipefail): installs Debian's isync package so that
# `mbsync` is in PATH for tests/e2e/test_imap_mbsync.py, and exports
#
#   ZCS_TEST_MBSYNC   the path of the mbsync binary
#
# Nothing is started: each test runs mbsync against the zcs server it starts itself on
# 127.0.0.1. Never exits: a failure prints why and returns, and the suite skips loudly.

zcs_isync_setup() {
  if ! command -v mbsync >/dev/null 2>&1; then
    if [ "$(id -u)" != 0 ]; then
      echo "isync: mbsync not installed and not root; the mbsync suite will skip"
      return 0
    fi
    export DEBIAN_FRONTEND=noninteractive
    if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends isync >/dev/null; }; then
      echo "isync: apt-get install isync failed; the mbsync suite will skip"
      return 0
    fi
  fi
  if command -v mbsync >/dev/null 2>&1; then
    ZCS_TEST_MBSYNC="$(command -v mbsync)"
    export ZCS_TEST_MBSYNC
    echo "isync: $("$ZCS_TEST_MBSYNC" --version 2>&1 | head -1) at $ZCS_TEST_MBSYNC"
  else
    echo "isync: installed but mbsync is not in PATH; the mbsync suite will skip"
  fi
}

zcs_isync_setup
