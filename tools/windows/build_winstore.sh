#!/usr/bin/env bash
# Cross-compiles the Windows certificate store core (signer/stores/windows/) with mingw-w64 into static
# Windows executables: the store agent sigil_winstore.exe and the GoogleTest unit tests winstore_test.exe
# (GoogleTest from Debian's `googletest` sources). Our code builds with -Wall -Wextra -Werror; the Windows
# store core needs no OpenSSL and no Abseil.
#
# Usage: tools/windows/build_winstore.sh [--out DIR]    (default DIR: ${TMPDIR:-/tmp}/sigil-winstore)
# Runs from anywhere; Bazel's genrule //signer/stores/windows:winstore_exes calls it from the execroot.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
out="${TMPDIR:-/tmp}/sigil-winstore"
while (($#)); do
  case "$1" in
    --out) out="$2"; shift 2 ;;
    *) echo "build_winstore: unknown argument $1" >&2; exit 2 ;;
  esac
done
mkdir -p "$out"
out="$(cd "$out" && pwd)"

# The posix-threads variant: GoogleTest and std::thread need it.
cxx="${WINSTORE_CXX:-x86_64-w64-mingw32-g++-posix}"
if ! command -v "$cxx" >/dev/null 2>&1; then
  echo "build_winstore: $cxx not found (apt-get install g++-mingw-w64-x86-64-posix; tools/install_deps.sh)" >&2
  exit 1
fi
gtest="${GTEST_SRC:-/usr/src/googletest}"
if [[ ! -f "$gtest/googletest/src/gtest-all.cc" ]]; then
  echo "build_winstore: GoogleTest sources not found in $gtest (apt-get install googletest)" >&2
  exit 1
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

src="$root/signer/stores/windows"
common=(-std=c++17 -O1 -g0 -DUNICODE -D_UNICODE -DWIN32_LEAN_AND_MEAN -DNOMINMAX -D_WIN32_WINNT=0x0A00
        -I"$root")
strict=(-Wall -Wextra -Werror -Wno-missing-field-initializers)
core=(win_status encoding ecdsa_der schemes cert_match cert_store ncrypt_key)
libs=(-lncrypt -lbcrypt -lcrypt32)

objs=()
for name in "${core[@]}"; do
  "$cxx" "${common[@]}" "${strict[@]}" -c "$src/$name.cc" -o "$tmp/$name.o"
  objs+=("$tmp/$name.o")
done

"$cxx" "${common[@]}" "${strict[@]}" -static "$src/sigil_winstore.cc" "${objs[@]}" "${libs[@]}" \
  -o "$out/sigil_winstore.exe"

# The Windows signerd's KeyStore adapter (windows_key_store.cc) needs Abseil and OpenSSL, which mingw does not
# have here; it is built by Bazel on Windows. Syntax-check it against Debian's headers (both are
# header-portable) so an API change on either side fails here too.
if [[ -d /usr/include/absl && -f /usr/include/openssl/evp.h ]]; then
  mkdir -p "$tmp/inc/openssl"
  ln -s /usr/include/absl "$tmp/inc/absl"
  for header in /usr/include/openssl/* /usr/include/x86_64-linux-gnu/openssl/*; do
    [[ -e "$header" ]] && ln -sf "$header" "$tmp/inc/openssl/"
  done
  "$cxx" "${common[@]}" "${strict[@]}" -isystem "$tmp/inc" -fsyntax-only "$src/windows_key_store.cc"
else
  echo "build_winstore: no Abseil/OpenSSL headers; skipping the windows_key_store.cc syntax check" >&2
fi

# GoogleTest: not our code, so not -Werror.
"$cxx" "${common[@]}" -I"$gtest/googletest/include" -I"$gtest/googletest" -c "$gtest/googletest/src/gtest-all.cc" \
  -o "$tmp/gtest-all.o"
"$cxx" "${common[@]}" -I"$gtest/googletest/include" -c "$gtest/googletest/src/gtest_main.cc" -o "$tmp/gtest_main.o"
"$cxx" "${common[@]}" "${strict[@]}" -I"$gtest/googletest/include" -static "$src/winstore_test.cc" "${objs[@]}" \
  "$tmp/gtest-all.o" "$tmp/gtest_main.o" "${libs[@]}" -o "$out/winstore_test.exe"
