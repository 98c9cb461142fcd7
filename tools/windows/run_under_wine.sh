#!/usr/bin/env bash
# Runs a Windows console program under Wine in a fresh WINEPREFIX, headless, and stops the prefix's
# wineserver afterwards. Exits with the program's status. Used by Bazel sh_tests
# (//signer/stores/windows:winstore_unit_test); the prefix lives under $TEST_TMPDIR (or a mktemp dir).
#
# Usage: tools/windows/run_under_wine.sh PROGRAM.exe [ARGS...]
set -euo pipefail

program="$1"
shift
base="${TEST_TMPDIR:-$(mktemp -d)}"
export WINEPREFIX="$base/wineprefix-$$"
export WINEDEBUG=-all DISPLAY= WINEDLLOVERRIDES="mscoree,mshtml="
export HOME="${HOME:-$base}"
# Bazel's XML_OUTPUT_FILE is a Linux path the Windows GoogleTest cannot open; Bazel writes its own test.xml.
unset XML_OUTPUT_FILE GTEST_OUTPUT
rm -rf "$WINEPREFIX"
trap 'wineserver -k >/dev/null 2>&1 || true; rm -rf "$WINEPREFIX"' EXIT

if ! command -v wine >/dev/null 2>&1; then
  echo "run_under_wine: wine not found (apt-get install wine wine64; tools/install_deps.sh)" >&2
  exit 1
fi
wineboot -i >"$base/wineboot.log" 2>&1 || { cat "$base/wineboot.log" >&2; exit 1; }
wineserver -w
# GoogleTest's colour codes and all Wine noise off; the program's own output is what matters.
wine "$program" "$@" 2> >(grep -v -E '^(it looks like wine32|multiarch needs|execute "dpkg|apt-get install wine32)' >&2)
