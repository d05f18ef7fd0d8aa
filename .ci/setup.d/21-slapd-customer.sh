# shellcheck shell=bash
# Sourced by .ci/run (bash, set -euo pipefail) after 20-slapd.sh: starts a second private
# OpenLDAP slapd on 127.0.0.1 that plays a customer's own directory (CI-RECIPES §1, the
# "customer" instance): standard schemas only (core, cosine, inetorgperson, nis), suffix
# dc=customer,dc=test, one ou=people branch. The external-authentication suites
# (zimbraAuthMech ldap) bind against it while zcs keeps its own directory elsewhere.
# Needs the slapd and ldap-utils packages 20-slapd.sh installs.
#
# Exports, when it answers (nothing otherwise, so the suites skip loudly):
#   ZCS_TEST_EXT_LDAP_URL            ldap://127.0.0.1:PORT
#   ZCS_TEST_EXT_LDAP_BASE           dc=customer,dc=test
#   ZCS_TEST_EXT_LDAP_BIND_DN        cn=admin,dc=customer,dc=test (the root DN)
#   ZCS_TEST_EXT_LDAP_BIND_PASSWORD  a random password made for this run
#   ZCS_TEST_EXT_LDAP_PID            slapd's PID (stop it with: kill "$ZCS_TEST_EXT_LDAP_PID")
# and, when openssl made a throwaway CA and a certificate for 127.0.0.1 (slapd then also
# offers StartTLS on the plain port, RFC 4513 §3, and TLS from the first byte on a second
# port):
#   ZCS_TEST_EXT_LDAP_CA             the CA certificate (PEM) that signed slapd's certificate
#   ZCS_TEST_EXT_LDAPS_URL           ldaps://127.0.0.1:PORT2
# The CA's key is deleted once the certificate is signed.
# State lives under target/ci/slapd-customer. Never exits: a failure prints why and returns.

# shellcheck source=../lib/slapd.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/slapd.sh"

zcs_customer_slapd_setup() {
  local root work port tls_port pw pid suffix="dc=customer,dc=test" tls_conf="" listen
  root=$(pwd)
  work="$root/target/ci/slapd-customer"
  unset ZCS_TEST_EXT_LDAP_CA ZCS_TEST_EXT_LDAPS_URL
  export PATH="$PATH:/usr/sbin"
  if ! command -v slapd >/dev/null 2>&1 || ! command -v ldapsearch >/dev/null 2>&1; then
    echo "customer slapd: slapd or ldap-utils missing; external LDAP suites will skip"
    return 0
  fi
  # Stop the slapd a previous sourcing started (its PID file is ours).
  if [ -f "$work/slapd.pid" ]; then
    kill "$(cat "$work/slapd.pid")" 2>/dev/null || true
    sleep 0.3
  fi
  rm -rf "$work"
  mkdir -p "$work/data" "$work/slapd.d"
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])') || { echo "customer slapd: no free port"; return 0; }
  pw=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')

  # TLS: a throwaway CA (its key removed after use) and a certificate for 127.0.0.1.
  listen="ldap://127.0.0.1:$port/"
  tls_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])') || tls_port=""
  mkdir -p "$work/tls"
  if command -v openssl >/dev/null 2>&1 && [ -n "$tls_port" ] && (
      cd "$work/tls" &&
      openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
        -subj "/CN=zcs test customer CA" -keyout ca.key -out ca.pem \
        -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign &&
      openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
        -subj "/CN=127.0.0.1" -keyout server.key -out server.csr &&
      printf '%s\n' subjectAltName=IP:127.0.0.1 basicConstraints=CA:FALSE \
        extendedKeyUsage=serverAuth > server.ext &&
      openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
        -extfile server.ext -out server.pem &&
      rm -f ca.key server.csr
    ) >"$work/tls.log" 2>&1; then
    tls_conf="TLSCACertificateFile $work/tls/ca.pem
TLSCertificateFile $work/tls/server.pem
TLSCertificateKeyFile $work/tls/server.key"
    listen="$listen ldaps://127.0.0.1:$tls_port/"
  else
    echo "customer slapd: no TLS (openssl missing or failed; see $work/tls.log)"
  fi

  cat > "$work/slapd.conf" <<CONF
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include /etc/ldap/schema/nis.schema
pidfile  $work/slapd.pid
argsfile $work/slapd.args
modulepath /usr/lib/ldap
moduleload back_mdb
$tls_conf
database mdb
maxsize 268435456
suffix "$suffix"
rootdn "cn=admin,$suffix"
rootpw $(slappasswd -s "$pw")
directory $work/data
index objectClass,uid,mail eq
access to attrs=userPassword by self write by anonymous auth by * none
access to * by * read
CONF
  if ! slapadd -q -f "$work/slapd.conf" -b "$suffix" >"$work/slapadd.log" 2>&1 <<LDIF
dn: $suffix
objectClass: dcObject
objectClass: organization
dc: customer
o: customer

dn: ou=people,$suffix
objectClass: organizationalUnit
ou: people
LDIF
  then
    echo "customer slapd: could not load the base entries:"; cat "$work/slapadd.log"
    return 0
  fi
  if ! zcs_slapd_run "customer slapd" "$work" "$listen" "$port" "$suffix"; then
    [ -n "$tls_conf" ] || return 0
    # A slapd built without TLS refuses the TLS lines: run it without them.
    echo "customer slapd: retrying without TLS"
    tls_conf=""
    listen="ldap://127.0.0.1:$port/"
    sed -i '/^TLS/d' "$work/slapd.conf"
    rm -rf "$work/slapd.d" && mkdir -p "$work/slapd.d"
    zcs_slapd_run "customer slapd" "$work" "$listen" "$port" "$suffix" || return 0
  fi
  pid=$ZCS_SLAPD_PID
  export ZCS_TEST_EXT_LDAP_URL="ldap://127.0.0.1:$port"
  export ZCS_TEST_EXT_LDAP_BASE="$suffix"
  export ZCS_TEST_EXT_LDAP_BIND_DN="cn=admin,$suffix"
  export ZCS_TEST_EXT_LDAP_BIND_PASSWORD="$pw"
  export ZCS_TEST_EXT_LDAP_PID="$pid"
  if [ -n "$tls_conf" ]; then
    export ZCS_TEST_EXT_LDAP_CA="$work/tls/ca.pem"
    export ZCS_TEST_EXT_LDAPS_URL="ldaps://127.0.0.1:$tls_port"
  fi
  echo "customer slapd pid $pid on $listen ($suffix)"
}

zcs_customer_slapd_setup || echo "customer slapd: setup failed; external LDAP suites will skip"
unset -f zcs_customer_slapd_setup
