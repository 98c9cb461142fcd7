#!/usr/bin/env bash
# Builds and tests the whole tree under a sanitizer in its own Bazel server, so the instrumented build never
# fights the normal one for the output base.
#
# Usage: tools/sanitizers.sh asan|tsan [extra bazel test args, e.g. targets]   (default: every tracked package)
#
#   asan  AddressSanitizer + UndefinedBehaviorSanitizer (gcc, -fno-sanitize-recover=all): any finding fails
#         the test. LeakSanitizer is on.
#   tsan  ThreadSanitizer, with tools/tsan.supp (every entry there names uninstrumented system code, never
#         Sigil's own).
#
# Tests tagged "nosan" are skipped (see .bazelrc; each tag is justified beside it in its BUILD file).
# Both configs share one output base (SIGIL_SAN_OUTPUT_BASE, default /root/.cache/bazel-sigil-san) and keep
# apart through --platform_suffix. The first run is a full rebuild (docs/reliability.md has the time).
set -euo pipefail

mode="${1:-}"
case "$mode" in
  asan | tsan) shift ;;
  *)
    echo "usage: $0 asan|tsan [bazel test args...]" >&2
    exit 2
    ;;
esac
root="$(git -C "$(dirname "$0")" rev-parse --show-toplevel)"
output_base="${SIGIL_SAN_OUTPUT_BASE:-/root/.cache/bazel-sigil-san}"
targets=("$@")
if [[ ${#targets[@]} -eq 0 ]]; then
  # Every package the repository tracks, top-level directory by top-level directory, rather than //... : this
  # server has its own output base, so //... would also load the main build's convenience symlink
  # bazel-<checkout directory name>/ as packages (.bazelignore can only name fixed paths, a CI checkout's
  # directory name is not known in advance, and negative patterns do not stop Bazel 4 loading them).
  mapfile -t targets < <(git -C "$root" ls-files -- 'BUILD' 'BUILD.bazel' '*/BUILD' '*/BUILD.bazel' |
    awk -F/ 'NF == 1 { print "//:all" } NF > 1 { print "//" $1 "/..." }' | sort -u)
fi

extra=()
if [[ "$mode" == tsan ]]; then
  # second_deadlock_stack: both stacks of a lock-order report. halt_on_error: the first race fails the test.
  # ignore_noninstrumented_modules: the libc functions TSan intercepts (memcpy, recv, malloc, ...) count as
  # memory accesses only when called from instrumented code (Sigil's). Debian's gRPC, OpenSSL, protobuf, Abseil,
  # RocksDB and libstdc++ are not instrumented, so TSan cannot see the synchronisation inside them and would
  # report every buffer they hand between their own threads (seen: libssl, libprotobuf, upb, gpr_malloc,
  # absl::Status and absl random pools, RocksDB blocks). Their locks and thread starts still order events.
  # Children (the daemons that tests start) inherit TSAN_OPTIONS.
  tsan_options="suppressions=$root/tools/tsan.supp:second_deadlock_stack=1:halt_on_error=1"
  tsan_options+=":ignore_noninstrumented_modules=1"
  extra+=("--test_env=TSAN_OPTIONS=$tsan_options")
  # The suppressions file is read at run time and is no Bazel input: its hash in the environment makes an edit
  # invalidate cached test results.
  extra+=("--test_env=SIGIL_TSAN_SUPP_SHA256=$(sha256sum "$root/tools/tsan.supp" | cut -d' ' -f1)")
fi

cd "$root"
start=$(date +%s)
set +e
bazel --output_base="$output_base" test --config="$mode" --keep_going "${extra[@]}" "${targets[@]}"
rc=$?
set -e
echo "sanitizers.sh: $mode finished with exit code $rc in $(( ($(date +%s) - start) / 60 )) min" >&2
exit "$rc"
