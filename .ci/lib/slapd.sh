# shellcheck shell=bash
# Shared by the slapd setup scripts in .ci/setup.d (sourced, never run alone).

# zcs_slapd_run LABEL WORK LISTEN PORT BASE
# Turns WORK/slapd.conf into WORK/slapd.d, starts slapd on LISTEN (one or more URLs) and
# waits until a base search of BASE on ldap://127.0.0.1:PORT/ answers. On success sets
# ZCS_SLAPD_PID and returns 0; otherwise prints why (prefixed with LABEL), stops what it
# started and returns 1.
zcs_slapd_run() {
  local label=$1 work=$2 listen=$3 port=$4 base=$5 ok=0 pid
  ZCS_SLAPD_PID=""
  if ! slaptest -Q -f "$work/slapd.conf" -F "$work/slapd.d" >"$work/slaptest.log" 2>&1; then
    echo "$label: configuration rejected:"; cat "$work/slaptest.log"
    return 1
  fi
  if ! slapd -h "$listen" -F "$work/slapd.d" >"$work/slapd.log" 2>&1; then
    echo "$label: did not start:"; cat "$work/slapd.log"
    return 1
  fi
  for _ in $(seq 100); do
    if ldapsearch -x -LLL -H "ldap://127.0.0.1:$port/" -s base -b "$base" 1.1 \
        >/dev/null 2>&1; then
      ok=1
      break
    fi
    sleep 0.1
  done
  pid=$(cat "$work/slapd.pid" 2>/dev/null || true)
  if [ "$ok" != 1 ]; then
    echo "$label: not answering on 127.0.0.1:$port"
    [ -n "$pid" ] && kill "$pid" 2>/dev/null
    return 1
  fi
  ZCS_SLAPD_PID=$pid
}
