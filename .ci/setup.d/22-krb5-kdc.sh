# shellcheck shell=bash
# Sourced by .ci/run (bash, set -euo pipefail): installs MIT Kerberos (krb5-kdc, and
# krb5-admin-server for kadmin.local) from Debian and starts a private KDC for the realm
# ZCS.TEST on 127.0.0.1, for the kerberos5 authentication suite
# (zcs-directory/tests/kerberos.rs) and the SPNEGO suite (zcs-server/tests/spnego.rs,
# which also needs kinit from krb5-user and a curl with GSS-API). Its database, kdc.conf,
# krb5.conf, stash and log live under target/ci/krb5; the system KDC is never started or
# touched.
#
# Principals (all with the same random password):
#   user1  +requires_preauth (the KDC asks for PA-ENC-TIMESTAMP)
#   user2  without preauthentication (the AS-REP comes at once)
#   robert a second name for the foreign-principal tests
#   HTTP/localhost  the SPNEGO service principal (random key), exported to a keytab
#
# Exports, when the KDC answers (nothing otherwise, so the suite skips loudly):
#   ZCS_TEST_KRB5_CONFIG    the krb5.conf naming the KDC (kdc = 127.0.0.1:PORT)
#   ZCS_TEST_KRB5_REALM     ZCS.TEST
#   ZCS_TEST_KRB5_USER      user1 (requires preauth)
#   ZCS_TEST_KRB5_USER_NOPREAUTH  user2
#   ZCS_TEST_KRB5_USER_OTHER      robert
#   ZCS_TEST_KRB5_PASSWORD  the random password of all three
#   ZCS_TEST_KRB5_KDC       127.0.0.1:PORT
#   ZCS_TEST_KRB5_PID       krb5kdc's PID (stop it with: kill "$ZCS_TEST_KRB5_PID")
#   ZCS_TEST_KRB5_KEYTAB    the keytab of HTTP/localhost@ZCS.TEST (kadmin.local ktadd)
#   ZCS_TEST_KRB5_SPN       HTTP/localhost@ZCS.TEST
# Never exits: a failure prints why and returns.

zcs_krb5_kdc_setup() {
  local root work port pw master pid realm="ZCS.TEST" i
  root=$(pwd)
  work="$root/target/ci/krb5"
  export PATH="$PATH:/usr/sbin"

  if ! command -v krb5kdc >/dev/null 2>&1 || ! command -v kadmin.local >/dev/null 2>&1 \
      || ! command -v kinit >/dev/null 2>&1; then
    # Without root nothing can be installed: the KDC may still run, and the SPNEGO suite
    # skips by itself when kinit is missing.
    if [ "$(id -u)" != 0 ]; then
      if ! command -v krb5kdc >/dev/null 2>&1 || ! command -v kadmin.local >/dev/null 2>&1
      then
        echo "krb5 kdc: krb5-kdc not installed and not root; kerberos suite will skip"
        return 0
      fi
    else
      export DEBIAN_FRONTEND=noninteractive
      # Maintainer scripts must not start the system KDC (CI-RECIPES §0): policy-rc.d
      # exiting 101 makes invoke-rc.d skip it; removed again when we created it.
      local made_policy=0
      if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
        chmod 755 /usr/sbin/policy-rc.d
        made_policy=1
      fi
      if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends \
          krb5-kdc krb5-admin-server krb5-user >/dev/null; }; then
        echo "krb5 kdc: apt-get install failed; kerberos suite will skip"
        [ "$made_policy" = 1 ] && rm -f /usr/sbin/policy-rc.d
        return 0
      fi
      [ "$made_policy" = 1 ] && rm -f /usr/sbin/policy-rc.d
    fi
  fi
  if ! command -v krb5kdc >/dev/null 2>&1 || ! command -v kdb5_util >/dev/null 2>&1 \
      || ! command -v kadmin.local >/dev/null 2>&1; then
    echo "krb5 kdc: krb5kdc, kdb5_util or kadmin.local missing; kerberos suite will skip"
    return 0
  fi

  # Stop the KDC a previous sourcing started (its PID file is ours).
  if [ -f "$work/krb5kdc.pid" ]; then
    kill "$(cat "$work/krb5kdc.pid")" 2>/dev/null || true
    sleep 0.3
  fi
  rm -rf "$work"
  mkdir -p "$work"
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])') || { echo "krb5 kdc: no free port"; return 0; }
  pw=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
  master=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')

  # Loopback only: kdc_listen (UDP) and kdc_tcp_listen name 127.0.0.1 with the port.
  cat > "$work/kdc.conf" <<CONF
[kdcdefaults]
    kdc_listen = 127.0.0.1:$port
    kdc_tcp_listen = 127.0.0.1:$port

[realms]
    $realm = {
        database_name = $work/principal
        key_stash_file = $work/stash
        acl_file = $work/kadm5.acl
        max_life = 1h 0m 0s
        supported_enctypes = aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha1-96:normal
        kdc_listen = 127.0.0.1:$port
        kdc_tcp_listen = 127.0.0.1:$port
    }

[logging]
    kdc = FILE:$work/krb5kdc.log
    admin_server = FILE:$work/kadmin.log
    default = FILE:$work/krb5lib.log
CONF
  cat > "$work/krb5.conf" <<CONF
[libdefaults]
    default_realm = $realm
    dns_lookup_kdc = false
    dns_lookup_realm = false

[realms]
    $realm = {
        kdc = 127.0.0.1:$port
    }
CONF
  : > "$work/kadm5.acl"

  # Every krb5 tool below reads our files, never /etc/krb5.conf or /etc/krb5kdc.
  local -a env=(env "KRB5_CONFIG=$work/krb5.conf" "KRB5_KDC_PROFILE=$work/kdc.conf")
  if ! "${env[@]}" kdb5_util create -r "$realm" -s -P "$master" >"$work/create.log" 2>&1; then
    echo "krb5 kdc: kdb5_util create failed:"; cat "$work/create.log"
    return 0
  fi
  if ! { "${env[@]}" kadmin.local -r "$realm" -q "addprinc +requires_preauth -pw $pw user1" \
      && "${env[@]}" kadmin.local -r "$realm" -q "addprinc -requires_preauth -pw $pw user2" \
      && "${env[@]}" kadmin.local -r "$realm" -q "addprinc +requires_preauth -pw $pw robert" \
      && "${env[@]}" kadmin.local -r "$realm" -q "addprinc -randkey HTTP/localhost" \
      && "${env[@]}" kadmin.local -r "$realm" -q "ktadd -k $work/http.keytab HTTP/localhost"
      } >"$work/addprinc.log" 2>&1; then
    echo "krb5 kdc: kadmin.local addprinc failed:"; cat "$work/addprinc.log"
    return 0
  fi
  # -P writes the PID file; without -n krb5kdc detaches itself.
  if ! "${env[@]}" krb5kdc -r "$realm" -P "$work/krb5kdc.pid" >"$work/start.log" 2>&1; then
    echo "krb5 kdc: krb5kdc did not start:"; cat "$work/start.log"
    return 0
  fi
  for i in $(seq 1 50); do
    if [ -s "$work/krb5kdc.pid" ] && python3 -c "import socket,sys
s=socket.socket(); s.settimeout(0.5); s.connect(('127.0.0.1', $port))" 2>/dev/null; then
      break
    fi
    sleep 0.1
  done
  pid=$(cat "$work/krb5kdc.pid" 2>/dev/null || true)
  if [ -z "$pid" ] || ! kill -0 "$pid" 2>/dev/null; then
    echo "krb5 kdc: not running after start:"; cat "$work/start.log" "$work/krb5kdc.log" \
      2>/dev/null || true
    return 0
  fi
  if ! python3 -c "import socket; s=socket.socket(); s.settimeout(1)
s.connect(('127.0.0.1', $port))" 2>/dev/null; then
    echo "krb5 kdc: pid $pid does not answer on 127.0.0.1:$port"
    kill "$pid" 2>/dev/null || true
    return 0
  fi
  export ZCS_TEST_KRB5_CONFIG="$work/krb5.conf"
  export ZCS_TEST_KRB5_REALM="$realm"
  export ZCS_TEST_KRB5_USER="user1"
  export ZCS_TEST_KRB5_USER_NOPREAUTH="user2"
  export ZCS_TEST_KRB5_USER_OTHER="robert"
  export ZCS_TEST_KRB5_PASSWORD="$pw"
  export ZCS_TEST_KRB5_KDC="127.0.0.1:$port"
  export ZCS_TEST_KRB5_PID="$pid"
  export ZCS_TEST_KRB5_KEYTAB="$work/http.keytab"
  export ZCS_TEST_KRB5_SPN="HTTP/localhost@$realm"
  echo "krb5 kdc pid $pid on 127.0.0.1:$port (realm $realm)"
}

zcs_krb5_kdc_setup || echo "krb5 kdc: setup failed; kerberos suite will skip"
unset -f zcs_krb5_kdc_setup
