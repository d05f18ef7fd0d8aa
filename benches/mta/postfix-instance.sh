#!/usr/bin/env bash
# Starts or stops a private Postfix instance for the MTA benchmark: its own config,
# queue and data directories under DIR, SMTP on 127.0.0.1:PORT only, and every message
# handed over LMTP to NEXTHOP (zcs's LMTP listener), as Zimbra's Postfix does. The
# system Postfix (/etc/postfix) is neither read nor touched; nothing listens beyond
# loopback. Needs root (Postfix's master runs as root and drops to the postfix user).
#
# Usage: postfix-instance.sh start DIR PORT NEXTHOP_HOST:PORT
#        postfix-instance.sh stop DIR
set -euo pipefail

cmd=${1:?start|stop}
dir=${2:?directory}
dir=$(realpath -m "$dir")

if [ "$cmd" = stop ]; then
  [ -f "$dir/etc/main.cf" ] && postfix -c "$dir/etc" stop >/dev/null 2>&1 || true
  exit 0
fi

port=${3:?port}
nexthop=${4:?nexthop host:port}
mkdir -p "$dir/etc" "$dir/queue" "$dir/data"
cat > "$dir/etc/main.cf" <<CONF
compatibility_level = 3.6
config_directory = $dir/etc
queue_directory = $dir/queue
data_directory = $dir/data
meta_directory = /etc/postfix
mail_owner = postfix
setgid_group = postdrop
myhostname = pf-bench.localdomain
mydomain = localdomain
myorigin = \$myhostname
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
mydestination =
local_recipient_maps =
relay_domains = static:ALL
relay_recipient_maps =
smtpd_relay_restrictions = permit_mynetworks, reject
smtpd_recipient_restrictions = permit_mynetworks, reject
default_transport = lmtp:inet:$nexthop
relay_transport = lmtp:inet:$nexthop
lmtp_connection_cache_on_demand = yes
default_destination_concurrency_limit = 20
lmtp_destination_concurrency_limit = 20
maillog_file = $dir/maillog
maillog_file_prefixes = $dir
biff = no
smtputf8_enable = no
message_size_limit = 10240000
CONF
# master.cf: the daemons a relaying Postfix needs, SMTP on the private port only.
cat > "$dir/etc/master.cf" <<CONF
127.0.0.1:$port inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
CONF
postfix -c "$dir/etc" set-permissions >/dev/null 2>&1 || true
postfix -c "$dir/etc" check || { script -qc "postfix -c $dir/etc check" /dev/null; exit 1; }
postfix -c "$dir/etc" start
for _ in $(seq 50); do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "postfix: private instance in $dir on 127.0.0.1:$port -> lmtp:$nexthop"
    exit 0
  fi
  sleep 0.1
done
echo "postfix: did not start (see $dir/maillog)" >&2
exit 1
