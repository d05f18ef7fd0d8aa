#!/usr/bin/env bash
# Runs every fuzz target once over its seed corpus (libFuzzer's -runs=0: execute the
# corpus, no mutation), so a CI job can check that the targets build and that no seed
# crashes. Needs cargo-fuzz (`cargo install cargo-fuzz`); works on stable rustc through
# RUSTC_BOOTSTRAP=1 (see README.md).
#
# Usage: fuzz/smoke.sh [target...]      (default: every target)
# The message targets also run over the shared message corpus when it is found at
# $SHARED_CORPUS (default: ../../shared/corpus from this folder, i.e. shared/ beside
# the repository); set SHARED_CORPUS= (empty) to skip it.
set -euo pipefail
cd "$(dirname "$0")"

export RUSTC_BOOTSTRAP="${RUSTC_BOOTSTRAP-1}"
shared="${SHARED_CORPUS-../../shared/corpus}"
message_targets=" imap_message index_document "

if [ "$#" -gt 0 ]; then
    targets=("$@")
else
    mapfile -t targets < <(cargo fuzz list)
fi

# Build with the versions the main workspace has locked (Cargo.lock here is not kept in
# git; cargo adds libfuzzer-sys and what else only this package needs).
[ -f Cargo.lock ] || cp ../Cargo.lock Cargo.lock
cargo fuzz build

scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT

passed=0
failed=0
for t in "${targets[@]}"; do
    # The first corpus folder is where libFuzzer would write; keep it out of the repo.
    dirs=("$scratch/$t")
    mkdir -p "$scratch/$t"
    [ -d "corpus/$t" ] && dirs+=("corpus/$t")
    if [[ "$message_targets" == *" $t "* ]] && [ -n "$shared" ] && [ -d "$shared" ]; then
        dirs+=("$shared")
    fi
    echo "== $t: ${dirs[*]:1}"
    if cargo fuzz run "$t" "${dirs[@]}" -- -runs=0 -max_len=1048576 \
        >"$scratch/$t.log" 2>&1; then
        passed=$((passed + 1))
        grep -E '^(INFO: seed corpus|#[0-9]+ +(INITED|DONE))' "$scratch/$t.log" | tail -2 || true
    else
        failed=$((failed + 1))
        echo "FAILED: $t"
        tail -40 "$scratch/$t.log"
    fi
done
echo "fuzz-smoke: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
