#!/usr/bin/env bash
# The whole test suite (what CI runs through .ci/run). Installs whatever Debian packages are missing, then:
#   1. bazel test //...                         unit, integration and end-to-end tests (one line per target)
#   2. deploy/validate/run.sh                   every kustomize overlay rendered and schema-checked offline
#   3. tools/fuzz.sh --ci                       each libFuzzer target for a short run from its committed corpus
#   4. bench/run.sh --quick --fastbuild         the benchmark tools end to end (asserts correctness, not speed)
#   5. deploy/images/build_and_smoke.sh         container images built and smoke-tested under podman
#   6. tools/sanitizers.sh asan, then tsan      the tree under ASan+UBSan and under TSan (own Bazel server)
# Steps 2-6 run even when an earlier one fails. SIGIL_TEST_STEPS limits which steps run, e.g.
# SIGIL_TEST_STEPS="bazel fuzz" ./test.sh (names: bazel validate fuzz bench images asan tsan; default all).
# Extra arguments go to step 1's bazel (e.g. ./test.sh --test_filter=Pem*).
#
# Ends with a line "N passed, M failed": one per Bazel test target plus one per extra step, and exits non-zero
# when anything failed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

tools/install_deps.sh

steps="${SIGIL_TEST_STEPS:-bazel validate fuzz bench images asan tsan}"
wants() { [[ " $steps " == *" $1 "* ]]; }

log=$(mktemp)
trap 'rm -f "$log"' EXIT

status=0
passed=0
failed=0
failures=()

if wants bazel; then
  bazel_status=0
  bazel test //... --test_output=errors "$@" 2>&1 | tee "$log" || bazel_status=${PIPESTATUS[0]}
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
  if ((bazel_status != 0)); then
    status=$bazel_status
    # A build failure leaves no per-target lines; still count it.
    ((failed == 0)) && failed=1
    failures+=("bazel test //...")
  fi
fi

# Runs one extra step, timing it and counting it as one passed or failed entry.
step() {
  local name="$1"
  shift
  echo
  echo "=== test.sh: $name: $*"
  local start=$SECONDS
  if "$@"; then
    passed=$((passed + 1))
    echo "=== test.sh: $name PASSED in $((SECONDS - start))s"
  else
    failed=$((failed + 1))
    failures+=("$name")
    status=1
    echo "=== test.sh: $name FAILED in $((SECONDS - start))s"
  fi
}

wants validate && step validate deploy/validate/run.sh
wants fuzz && step fuzz tools/fuzz.sh --ci
wants bench && step bench bench/run.sh --quick --fastbuild
wants images && step images deploy/images/build_and_smoke.sh
wants asan && step asan tools/sanitizers.sh asan
wants tsan && step tsan tools/sanitizers.sh tsan

echo
((${#failures[@]} > 0)) && echo "failed: ${failures[*]}"
echo "$passed passed, $failed failed"
exit "$status"
