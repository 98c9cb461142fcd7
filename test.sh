#!/usr/bin/env bash
# Installs whatever Debian packages are missing, then runs every test: `bazel test //...`.
# Extra arguments go to bazel (e.g. ./test.sh --test_filter=Pem*). Exits with bazel's status and ends with
# a line "N passed, M failed" counted from bazel's per-target test summary.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

tools/install_deps.sh

log=$(mktemp)
trap 'rm -f "$log"' EXIT

status=0
bazel test //... --test_output=errors "$@" 2>&1 | tee "$log" || status=${PIPESTATUS[0]}

# Bazel's summary has one line per test target, e.g.
#   //tests/pki:test_pki_test                    PASSED in 0.3s
#   //signer:pem_key_store_test         (cached) PASSED in 0.3s
#   //verifier:ocsp_fetch_test                   FAILED in 2 out of 2 in 1.1s
#   //verifier:slow_test                         TIMEOUT in 300.0s
#   //cache:rocksdb_test                         NO STATUS
#   //client:provider_test                       FAILED TO BUILD
# (FLAKY targets passed on a retry and count as passed.)
summary=$(sed 's/\x1b\[[0-9;]*[A-Za-z]//g' "$log" | grep -E '^//[^ ]+ +' || true)
passed=$(grep -cE '^//[^ ]+ +(\(cached\) +)?(PASSED|FLAKY)' <<<"$summary" || true)
failed=$(grep -cE '^//[^ ]+ +(\(cached\) +)?(FAILED|TIMEOUT|NO STATUS|INCOMPLETE)' <<<"$summary" || true)

echo "$passed passed, $failed failed"
exit "$status"
