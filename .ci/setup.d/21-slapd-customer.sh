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
# State lives under target/ci/slapd-customer. Never exits: a failure prints why and returns.

# shellcheck source=../lib/slapd.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/slapd.sh"

zcs_customer_slapd_setup() {
  local root work port pw pid suffix="dc=customer,dc=test"
  root=$(pwd)
  work="$root/target/ci/slapd-customer"
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

  cat > "$work/slapd.conf" <<CONF
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include /etc/ldap/schema/nis.schema
pidfile  $work/slapd.pid
argsfile $work/slapd.args
modulepath /usr/lib/ldap
moduleload back_mdb
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
  zcs_slapd_run "customer slapd" "$work" "ldap://127.0.0.1:$port/" "$port" "$suffix" || return 0
  pid=$ZCS_SLAPD_PID
  export ZCS_TEST_EXT_LDAP_URL="ldap://127.0.0.1:$port"
  export ZCS_TEST_EXT_LDAP_BASE="$suffix"
  export ZCS_TEST_EXT_LDAP_BIND_DN="cn=admin,$suffix"
  export ZCS_TEST_EXT_LDAP_BIND_PASSWORD="$pw"
  export ZCS_TEST_EXT_LDAP_PID="$pid"
  echo "customer slapd pid $pid on ldap://127.0.0.1:$port/ ($suffix)"
}

zcs_customer_slapd_setup || echo "customer slapd: setup failed; external LDAP suites will skip"
unset -f zcs_customer_slapd_setup
