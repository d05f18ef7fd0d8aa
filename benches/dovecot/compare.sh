#!/bin/sh
# Dovecot (dovecot-imapd + dovecot-fts-xapian) against zcs over IMAP SEARCH, on the same
# synthetic mailbox in the same run. Needs: the release binaries (cargo build --release
# -p zcs-server -p benches --bins), Debian's dovecot-imapd and dovecot-fts-xapian.
# Runs both servers only on 127.0.0.1, on free ports, from private temporary
# directories, and stops them at the end; no system service is touched.
#
# Usage: benches/dovecot/compare.sh [MESSAGES] [RUNS] [MIXED_CLIENTS] [MIXED_SECS]
# (MIXED_CLIENTS > 0 also runs imap-bench's realistic mix against both servers).
# COMPARE_ARGS passes more options to compare.py (e.g. "--parallel-load").
set -eu
N=${1:-10000}
RUNS=${2:-20}
MIXED=${3:-0}
MIXED_SECS=${4:-30}
B=${B:-target/release}
CORPUS=$(mktemp -d /tmp/zcs-dovecot-corpus.XXXXXX)
chmod 755 "$CORPUS"
trap 'rm -rf "$CORPUS"' EXIT
"$B/search-bench" -n "$N" --export "$CORPUS/maildir" --export-only > "$CORPUS/search-bench.out"
python3 "$(dirname "$0")/compare.py" --corpus "$CORPUS/maildir" --runs "$RUNS" --bin "$B" \
    --mixed "$MIXED" --mixed-secs "$MIXED_SECS" ${COMPARE_ARGS:-}
