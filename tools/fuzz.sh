#!/usr/bin/env bash
# Builds and runs the S2 decoder fuzz target (cache/s2_fuzz.cc) with libFuzzer and AddressSanitizer.
#
# Usage: tools/fuzz.sh [SECONDS]        (default 60; run from anywhere inside the repository)
#
# Needs clang-14 and libclang-rt-14-dev (libFuzzer's runtime), which tools/install_deps.sh does not
# install: no test runs this script (CI replays the corpus through the same entry point in
# //cache:s2_fuzz_corpus_test). Install them with: apt-get install clang-14 libclang-rt-14-dev
#
# The fuzzer starts from a copy of cache/testdata/s2_corpus/ in a temporary directory; inputs it finds
# interesting stay there (the path is printed). A crash leaves crash-* files in the current directory
# and a non-zero exit. To keep a new input for CI, copy it into cache/testdata/s2_corpus/.
set -euo pipefail

seconds="${1:-60}"
root="$(git -C "$(dirname "$0")" rev-parse --show-toplevel)"
work="$(mktemp -d "${TMPDIR:-/tmp}/sigil-s2-fuzz.XXXXXX")"
mkdir -p "$work/corpus"
cp "$root"/cache/testdata/s2_corpus/* "$work/corpus/"

if ! command -v clang++-14 >/dev/null; then
  echo "fuzz.sh: clang++-14 not found (apt-get install clang-14 libclang-rt-14-dev)" >&2
  exit 1
fi

# shellcheck disable=SC2046
clang++-14 -std=c++17 -O1 -g -fsanitize=fuzzer,address -I"$root" \
  "$root/cache/s2.cc" "$root/cache/s2_fuzz.cc" -o "$work/s2_fuzz" \
  $(pkg-config --libs absl_status absl_statusor absl_strings absl_str_format rocksdb)

echo "fuzz.sh: fuzzing the S2 decoder for ${seconds}s; corpus in $work/corpus"
"$work/s2_fuzz" -max_total_time="$seconds" -max_len=65536 -timeout=10 "$work/corpus"
