# shellcheck shell=bash
# Sourced by .ci/run (bash, set -euo pipefail): installs slapd + ldap-utils from Debian and
# starts a private OpenLDAP slapd on 127.0.0.1 with the schema zcs ships
# (zcs-directory/schema/zimbra.schema), laid out like Zimbra's: one mdb database with the
# empty suffix, so `cn=zimbra` and the `dc=` domain trees live side by side.
#
# Exports, when slapd answers (and nothing otherwise, so the LDAP suites skip loudly):
#   ZCS_TEST_LDAP_URL            ldap://127.0.0.1:PORT (no credentials in it)
#   ZCS_TEST_LDAP_BIND_DN        the root DN, uid=zimbra,cn=admins,cn=zimbra
#   ZCS_TEST_LDAP_BIND_PASSWORD  a random password made for this run
#   ZCS_TEST_LDAP_PID            slapd's PID (stop it with: kill "$ZCS_TEST_LDAP_PID")
# and, when openssl made a throwaway CA and server certificate for 127.0.0.1 (slapd then
# also speaks StartTLS on the plain port):
#   ZCS_TEST_LDAPS_URL           ldaps://127.0.0.1:PORT2
#   ZCS_TEST_LDAP_CA             the CA certificate (PEM) that signed slapd's certificate
# State (config, database, PID file) lives under target/ci/slapd. Never exits: a failure
# prints why and returns.

# shellcheck source=../lib/slapd.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/slapd.sh"

zcs_slapd_setup() {
  local root work port tls_port pw pid schema tls_conf="" listen
  root=$(pwd)
  work="$root/target/ci/slapd"
  schema="$root/zcs-directory/schema/zimbra.schema"

  if ! command -v slapd >/dev/null 2>&1 && [ ! -x /usr/sbin/slapd ]; then
    if [ "$(id -u)" != 0 ]; then
      echo "slapd: not installed and not root; LDAP suites will skip"
      return 0
    fi
    export DEBIAN_FRONTEND=noninteractive
    # Maintainer scripts must not start the system slapd (CI-RECIPES §0): policy-rc.d
    # exiting 101 makes invoke-rc.d skip it; removed again when we created it.
    local made_policy=0
    if [ ! -e /usr/sbin/policy-rc.d ]; then
      printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
      chmod 755 /usr/sbin/policy-rc.d
      made_policy=1
    fi
    echo 'slapd slapd/no_configuration boolean true' | debconf-set-selections || true
    if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends \
        slapd ldap-utils >/dev/null; }; then
      echo "slapd: apt-get install failed; LDAP suites will skip"
      [ "$made_policy" = 1 ] && rm -f /usr/sbin/policy-rc.d
      return 0
    fi
    [ "$made_policy" = 1 ] && rm -f /usr/sbin/policy-rc.d
  fi
  export PATH="$PATH:/usr/sbin"

  # Stop the slapd a previous sourcing started (its PID file is ours).
  if [ -f "$work/slapd.pid" ]; then
    kill "$(cat "$work/slapd.pid")" 2>/dev/null || true
    sleep 0.3
  fi
  rm -rf "$work"
  mkdir -p "$work/data" "$work/slapd.d"

  # A free loopback port: bind port 0, read what the kernel gave, release it.
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])') || { echo "slapd: no free port"; return 0; }
  pw=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')

  # TLS: a throwaway CA and a certificate for 127.0.0.1, valid two days.
  listen="ldap://127.0.0.1:$port/"
  tls_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])') || tls_port=""
  if command -v openssl >/dev/null 2>&1 && [ -n "$tls_port" ] && (
      cd "$work" &&
      openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
        -subj "/CN=zcs test LDAP CA" -keyout ca.key -out ca.pem \
        -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign &&
      openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
        -subj "/CN=127.0.0.1" -keyout server.key -out server.csr &&
      printf '%s\n' subjectAltName=IP:127.0.0.1 basicConstraints=CA:FALSE \
        extendedKeyUsage=serverAuth > server.ext &&
      openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
        -extfile server.ext -out server.pem
    ) >"$work/tls.log" 2>&1; then
    tls_conf="TLSCACertificateFile $work/ca.pem
TLSCertificateFile $work/server.pem
TLSCertificateKeyFile $work/server.key"
    listen="$listen ldaps://127.0.0.1:$tls_port/"
  else
    echo "slapd: no TLS (openssl missing or failed; see $work/tls.log)"
  fi

  cat > "$work/slapd.conf" <<EOF
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include /etc/ldap/schema/nis.schema
include /etc/ldap/schema/dyngroup.schema
include $schema
pidfile  $work/slapd.pid
argsfile $work/slapd.args
modulepath /usr/lib/ldap
moduleload back_mdb
sizelimit unlimited
$tls_conf
database mdb
maxsize 1073741824
suffix ""
rootdn "uid=zimbra,cn=admins,cn=zimbra"
rootpw $(slappasswd -s "$pw")
directory $work/data
index objectClass eq
index zimbraId,uid,mail,cn,zimbraMailAlias,zimbraDomainName,zimbraMailDeliveryAddress eq
access to attrs=userPassword by self write by anonymous auth by * none
access to * by * read
EOF
  # The config branch zcs expects, loaded offline; this also creates data.mdb, which
  # slaptest needs.
  if ! slapadd -q -f "$work/slapd.conf" -b "" >"$work/slapadd.log" 2>&1 <<EOF
dn: cn=zimbra
objectClass: organizationalRole
cn: zimbra
description: Zimbra Systems Application Data
EOF
  then
    echo "slapd: could not load the base entry:"; cat "$work/slapadd.log"
    return 0
  fi
  zcs_slapd_run "slapd" "$work" "$listen" "$port" "" || return 0
  pid=$ZCS_SLAPD_PID
  export ZCS_TEST_LDAP_URL="ldap://127.0.0.1:$port"
  export ZCS_TEST_LDAP_BIND_DN="uid=zimbra,cn=admins,cn=zimbra"
  export ZCS_TEST_LDAP_BIND_PASSWORD="$pw"
  export ZCS_TEST_LDAP_PID="$pid"
  if [ -n "$tls_conf" ]; then
    export ZCS_TEST_LDAPS_URL="ldaps://127.0.0.1:$tls_port"
    export ZCS_TEST_LDAP_CA="$work/ca.pem"
  fi
  echo "slapd pid $pid on $listen (suffix \"\", schema $schema)"
}

zcs_slapd_setup || echo "slapd: setup failed; LDAP suites will skip"
unset -f zcs_slapd_setup
