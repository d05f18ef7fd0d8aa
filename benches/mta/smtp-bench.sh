#!/usr/bin/env bash
# MTA benchmark: Postfix's smtp-source drives (a) zcs's own SMTP listener and (b) a
# private Postfix instance that hands every message to zcs's LMTP listener (Zimbra's
# layout), with the same load, into the same zcs mailboxes. Prints msg/s for each.
# Then (c) the same load to a relayed domain through zcs's SMTP listener: every message
# goes into zcs's durable queue before its 250 and the queue manager relays it to
# Postfix's smtp-sink on loopback (zimbraMtaRelayHost; no DNS is asked).
#
# Everything runs on 127.0.0.1 in a fresh zcs home and a fresh Postfix directory under
# $WORK; the system Postfix is not touched. Needs root for Postfix (its master runs as
# root) and Debian's postfix package (smtp-source, postfix).
#
# Usage: benches/mta/smtp-bench.sh [SESSIONS] [MESSAGES] [SIZE]   (default 20 2000 4096)
# Env: ZCS_BIN_DIR (default target/release), WORK (default: a new directory under
# /var/tmp, removed when the run ends unless KEEP=1).
#
# Why a new directory, never one emptied just before: on ext4 without a journal (this
# project's machines) the kernel skips every inode freed in the last few minutes when it
# allocates a new one (ialloc.c's recently_deleted), reading each one's inode table
# block; after removing 20,000 files, creating a file cost 180-270 us of CPU for more
# than 200 s, against 15 us on a clean allocator (measured 2026-12-06). Removing the
# previous run's tree right before the load made every blob and queue file pay that.
# Leave a few minutes between runs, or expect the figures to show the file system.
set -euo pipefail

sessions=${1:-20}
messages=${2:-2000}
size=${3:-4096}
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
B=$(realpath "${ZCS_BIN_DIR:-$repo/target/release}")
fresh=
if [ -z "${WORK:-}" ]; then
  WORK=$(mktemp -d /var/tmp/zcs-mta-bench.XXXXXX)
  chmod 755 "$WORK"
  fresh=1
fi
export ZCS_HOME=$WORK/zcs

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

cleanup() {
  [ -n "${sink_pid:-}" ] && kill "$sink_pid" 2>/dev/null || true
  "$here/postfix-instance.sh" stop "$WORK/postfix" || true
  "$B/zmcontrol" stop >/dev/null 2>&1 || true
  if [ -n "$fresh" ] && [ -z "${KEEP:-}" ]; then rm -rf "$WORK"; fi
}
trap cleanup EXIT

if [ -z "$fresh" ]; then rm -rf "$WORK"; mkdir -p "$WORK"; fi
smtp=$(free_port); lmtp=$(free_port); pf=$(free_port); sink=$(free_port)
"$B/zcs-server" init >/dev/null
"$B/zmlocalconfig" -e zcs_bind_address=127.0.0.1 \
  "zcs_smtp_submission_port=$(free_port)" "zcs_smtps_port=$(free_port)"
host=$("$B/zmlocalconfig" -m nokey zimbra_server_hostname)
"$B/zmprov" ms "$host" zimbraSmtpPort "$smtp" zimbraLmtpBindPort "$lmtp" \
  zimbraImapBindPort "$(free_port)" zimbraPop3BindPort "$(free_port)" \
  zimbraImapSSLBindPort "$(free_port)" zimbraPop3SSLBindPort "$(free_port)" \
  zimbraMailPort "$(free_port)" zimbraMailSSLPort "$(free_port)" \
  zimbraAdminPort "$(free_port)" \
  zimbraMtaRelayHost "[127.0.0.1]:$sink" zimbraMtaDnsLookupsEnabled FALSE >/dev/null
# smtp-source's messages may share a Message-ID: no duplicate suppression here.
"$B/zmprov" mcf zimbraMessageIdDedupeCacheSize 0 >/dev/null
"$B/zmprov" cd bench.test >/dev/null
"$B/zmprov" ca u1@bench.test pw12345678 >/dev/null
"$B/zmcontrol" start >/dev/null
for _ in $(seq 100); do
  (exec 3<>"/dev/tcp/127.0.0.1/$smtp") 2>/dev/null && break
  sleep 0.2
done
"$here/postfix-instance.sh" start "$WORK/postfix" "$pf" "127.0.0.1:$lmtp" >/dev/null

now() { date +%s.%N; }
rate() { python3 -c "import sys; n,a,b=map(float,sys.argv[1:]); print(f'{n/(b-a):.1f}')" "$@"; }
src() { smtp-source -s "$sessions" -m "$messages" -l "$size" -f bench@remote.test \
  -t u1@bench.test "127.0.0.1:$1"; }
pf_queued() { find "$WORK/postfix/queue/incoming" "$WORK/postfix/queue/active" \
  "$WORK/postfix/queue/deferred" "$WORK/postfix/queue/maildrop" -type f 2>/dev/null | wc -l; }

# The server's CPU time (user + system, clock ticks) and the machine's idle share.
server_ticks() { awk '{print $14 + $15}' "/proc/$(cat "$ZCS_HOME/log/zcs.pid")/stat"; }
cpu_idle_total() { awk '/^cpu /{print $5 + $6, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9}' /proc/stat; }
hz=$(getconf CLK_TCK)

load=$(cut -d' ' -f1-3 /proc/loadavg)
c0=$(server_ticks); read -r i0 a0 < <(cpu_idle_total)
t0=$(now); src "$smtp"; t1=$(now)
c1=$(server_ticks); read -r i1 a1 < <(cpu_idle_total)
zcs_rate=$(rate "$messages" "$t0" "$t1")
zcs_cpu=$(python3 -c "import sys; c0,c1,hz,n=map(float,sys.argv[1:]); print(f'{(c1-c0)/hz/n*1000:.3f}')" \
  "$c0" "$c1" "$hz" "$messages")
zcs_idle=$(python3 -c "import sys; i0,i1,a0,a1=map(float,sys.argv[1:]); print(f'{100*(i1-i0)/(a1-a0):.1f}')" \
  "$i0" "$i1" "$a0" "$a1")

t0=$(now); src "$pf"; t1=$(now)
while [ "$(pf_queued)" -gt 0 ]; do sleep 0.05; done
t2=$(now)
pf_accept=$(rate "$messages" "$t0" "$t1")
pf_e2e=$(rate "$messages" "$t0" "$t2")
deferred=$(grep -c "status=deferred" "$WORK/postfix/maillog" || true)

# (c) relayed through zcs's queue to smtp-sink.
sink_user=(); [ "$(id -u)" = 0 ] && sink_user=(-u nobody)
smtp-sink "${sink_user[@]}" "127.0.0.1:$sink" 256 >/dev/null 2>&1 &
sink_pid=$!
zq_queued() { find "$ZCS_HOME/data/mta/queue/incoming" "$ZCS_HOME/data/mta/queue/active" \
  "$ZCS_HOME/data/mta/queue/deferred" -type f 2>/dev/null | wc -l; }
t0=$(now)
smtp-source -s "$sessions" -m "$messages" -l "$size" -f bench@remote.test \
  -t relay@sink.test "127.0.0.1:$smtp"
t1=$(now)
# Give up after 10 minutes (a relay that defers would keep the queue full for good).
for _ in $(seq 12000); do [ "$(zq_queued)" -gt 0 ] || break; sleep 0.05; done
t2=$(now)
relay_deferred=$(find "$ZCS_HOME/data/mta/queue/deferred" -type f | wc -l)
relay_accept=$(rate "$messages" "$t0" "$t1")
relay_e2e=$(rate "$messages" "$t0" "$t2")

echo "load before: $load"
echo "smtp-source -s $sessions -m $messages -l $size"
echo "zcs SMTP (stored in the mailbox before 250):        $zcs_rate msg/s"
echo "  zcs server CPU per message: $zcs_cpu ms; machine idle during it: $zcs_idle%"
echo "Postfix SMTP accepted (queued before 250):          $pf_accept msg/s"
echo "Postfix -> zcs LMTP, until the Postfix queue is empty: $pf_e2e msg/s"
echo "Postfix deferrals: $deferred"
echo "zcs SMTP relayed, queued before 250:                $relay_accept msg/s"
echo "zcs SMTP relayed, until zcs's queue is empty:      $relay_e2e msg/s"
echo "zcs queue deferrals left: $relay_deferred"
