#!/usr/bin/env bash
# Builds Sigil's libFuzzer targets with clang++-14 -fsanitize=fuzzer,address (outside Bazel) and runs them.
#
# Usage: tools/fuzz.sh [--ci] [--seconds N] [TARGET...]      (run from anywhere inside the repository)
#   TARGET      one or more of: s2 ocsp_response peer_verifier nats_import config   (default: all)
#   --seconds N how long each target runs (default 60)
#   --ci        the CI mode: every target for 30 s (unless --seconds is given), and a non-zero exit when
#               any target finds a crash, leak or broken property
#
# Needs clang-14, libclang-rt-14-dev and libfuzzer-14-dev (tools/install_deps.sh installs them) and the
# system libraries the daemons link (protoc generates the config/verifier messages into the work dir).
#
# Each target's entry point (LLVMFuzzerTestOneInput) lives beside the code it fuzzes and is also compiled by
# a Bazel *_fuzz_corpus_test that replays the kept corpus on every test run:
#   s2             cache/s2_fuzz.cc                   corpus cache/testdata/s2_corpus/
#   ocsp_response  verifier/ocsp/ocsp_response_fuzz.cc corpus verifier/ocsp/testdata/ocsp_response_corpus/
#   peer_verifier  verifier/peer_verifier_fuzz.cc      corpus verifier/testdata/peer_verifier_corpus/
#   nats_import    verifier/nats_import_fuzz.cc        corpus verifier/testdata/nats_import_corpus/
#   config         common/config_fuzz.cc               corpus common/testdata/config_corpus/
# The seed_* inputs come from `bazel run //tests/fuzz:make_fuzz_corpora -- "$PWD"`.
#
# Each fuzzer starts from a copy of its corpus in a temporary work directory (printed); inputs it finds
# interesting stay there. A crash leaves crash-*/leak-*/timeout-* files in <work>/artifacts/<target>/ and
# makes the script exit non-zero. To keep an input for CI (after fixing what it found), copy it into the
# target's corpus directory.
set -euo pipefail

seconds=""
ci=0
targets=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --ci) ci=1 ;;
    --seconds) seconds="$2"; shift ;;
    [0-9]*) seconds="$1" ;;  # The old form: tools/fuzz.sh SECONDS
    -h | --help) sed -n '2,26p' "$0"; exit 0 ;;
    *) targets+=("$1") ;;
  esac
  shift
done
if [[ -z "$seconds" ]]; then
  if [[ $ci == 1 ]]; then seconds=30; else seconds=60; fi
fi
[[ ${#targets[@]} -gt 0 ]] || targets=(s2 ocsp_response peer_verifier nats_import config)

root="$(git -C "$(dirname "$0")" rev-parse --show-toplevel)"
for tool in clang++-14 protoc pkg-config; do
  if ! command -v "$tool" >/dev/null; then
    echo "fuzz.sh: $tool not found (see tools/install_deps.sh)" >&2
    exit 1
  fi
done

# Sources each target links besides its entry point (the closure of its Bazel *_fuzz library without the
# system libraries: `bazel query "kind('source file', deps(//verifier:peer_verifier_fuzz))"`).
common_srcs="common/logging.cc common/openssl_util.cc"
declare -A entry srcs corpus maxlen
entry[s2]=cache/s2_fuzz.cc
srcs[s2]="cache/s2.cc"
corpus[s2]=cache/testdata/s2_corpus
maxlen[s2]=65536
entry[ocsp_response]=verifier/ocsp/ocsp_response_fuzz.cc
srcs[ocsp_response]="verifier/ocsp/ocsp_response.cc cache/ocsp_cache.cc $common_srcs"
corpus[ocsp_response]=verifier/ocsp/testdata/ocsp_response_corpus
maxlen[ocsp_response]=16384
entry[peer_verifier]=verifier/peer_verifier_fuzz.cc
srcs[peer_verifier]="verifier/peer_verifier.cc verifier/verifier_options.cc verifier/ocsp/ocsp_response.cc
  verifier/ocsp/ocsp_request.cc verifier/ocsp/http_fetcher.cc verifier/advisories/advisory.cc
  verifier/advisories/json_writer.cc cache/ocsp_cache.cc cache/none_cache.cc $common_srcs
  GEN/sigil/verifier/v1/verifier.pb.cc GEN/sigil/config/v1/verifier.pb.cc GEN/sigil/config/v1/tls.pb.cc
  GEN/sigil/config/v1/signer.pb.cc"
corpus[peer_verifier]=verifier/testdata/peer_verifier_corpus
maxlen[peer_verifier]=32768
entry[nats_import]=verifier/nats_import_fuzz.cc
srcs[nats_import]="verifier/import_validator.cc verifier/ocsp/ocsp_response.cc cache/nats_cache_json.cc cache/s2.cc
  cache/ocsp_cache.cc $common_srcs"
corpus[nats_import]=verifier/testdata/nats_import_corpus
maxlen[nats_import]=65536
entry[config]=common/config_fuzz.cc
srcs[config]="common/config.cc common/tls_listener.cc verifier/verifier_options.cc verifier/ocsp/ocsp_request.cc
  verifier/stapling/staple_options.cc cache/cache_factory.cc cache/rocksdb_cache.cc cache/rocksdb_status.cc
  cache/none_cache.cc cache/ocsp_cache.cc tests/pki/test_pki.cc $common_srcs
  GEN/sigil/verifier/v1/verifier.pb.cc GEN/sigil/config/v1/verifier.pb.cc GEN/sigil/config/v1/tls.pb.cc
  GEN/sigil/config/v1/signer.pb.cc GEN/sigil/cache/v1/record.pb.cc"
corpus[config]=common/testdata/config_corpus
maxlen[config]=16384
for t in "${targets[@]}"; do
  if [[ -z "${entry[$t]:-}" ]]; then
    echo "fuzz.sh: unknown target '$t' (s2 ocsp_response peer_verifier nats_import config)" >&2
    exit 2
  fi
done

work="$(mktemp -d "${TMPDIR:-/tmp}/sigil-fuzz.XXXXXX")"
gen="$work/gen"
obj="$work/obj"
mkdir -p "$gen" "$obj"
(cd "$root/proto" && protoc -I. -I/usr/include --cpp_out="$gen" sigil/config/v1/*.proto \
  sigil/verifier/v1/verifier.proto sigil/cache/v1/record.proto)

cxxflags=(-std=c++17 -O1 -g -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address -I"$root" -I"$gen"
  $(pkg-config --cflags grpc++ protobuf openssl libcurl rocksdb))
# shellcheck disable=SC2046
libs=($(pkg-config --libs grpc++ protobuf openssl libcurl rocksdb $(pkg-config --list-all | awk '/^absl_/ {print $1}')))

# Compiles one source (repository-relative, or GEN/... for generated code) once per run; prints the object.
compile() {
  local src="$1" path o
  if [[ "$src" == GEN/* ]]; then path="$gen/${src#GEN/}"; else path="$root/$src"; fi
  o="$obj/$(echo "$src" | tr '/' '_').o"
  if [[ ! -f "$o" ]]; then
    clang++-14 "${cxxflags[@]}" -c "$path" -o "$o" >&2
  fi
  echo "$o"
}

status=0
for t in "${targets[@]}"; do
  objects=()
  for s in ${entry[$t]} ${srcs[$t]}; do objects+=("$(compile "$s")"); done
  clang++-14 -fsanitize=fuzzer,address "${objects[@]}" "${libs[@]}" -o "$work/${t}_fuzz"
  mkdir -p "$work/corpus/$t" "$work/artifacts/$t"
  cp "$root/${corpus[$t]}"/* "$work/corpus/$t/"
  echo "fuzz.sh: fuzzing $t for ${seconds}s; corpus in $work/corpus/$t" >&2
  if ! "$work/${t}_fuzz" -max_total_time="$seconds" -max_len="${maxlen[$t]}" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$work/artifacts/$t/" "$work/corpus/$t" \
    > "$work/$t.log" 2>&1; then
    echo "fuzz.sh: $t FAILED; log $work/$t.log, artifacts in $work/artifacts/$t/:" >&2
    ls "$work/artifacts/$t" >&2
    grep -m1 -A30 "ERROR: \|==ERROR\|deadly signal" "$work/$t.log" >&2 || tail -30 "$work/$t.log" >&2
    status=1
    continue
  fi
  echo "fuzz.sh: $t ok: $(grep -E 'stat::number_of_executed_units|stat::new_units_added' "$work/$t.log" |
    tr -s ' ' | tr '\n' ' ')" >&2
done
echo "fuzz.sh: work directory $work" >&2
exit "$status"
