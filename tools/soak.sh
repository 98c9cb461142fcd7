#!/usr/bin/env bash
# Soak test: signerd and verifierd under steady load at half their measured peak for N minutes, sampling each
# daemon's resident memory (VmRSS from /proc/PID/status) and open file descriptors (/proc/PID/fd) into a CSV,
# then reporting growth. Load comes from the shared closed-loop generator bench/loadgen: Sign on a SoftHSM2
# token identity (PKCS#11 sessions, the pool, audit logging) and VerifyPeer over 200 distinct leaves (cache,
# memo, the OCSP responder path until every leaf is cached) at the same time.
#
# Usage: tools/soak.sh [--minutes N] [--out DIR] [--no-build]    (default 10 minutes; results in DIR, default
#        /tmp/sigil-soak-<UTC time>: samples.csv, calibration.jsonl, load-*.json, logs)
#
# "Half the measured peak": each daemon's peak is measured alone first (loadgen, 64 calls outstanding, 5 s);
# then of the concurrencies 1, 2, 4, ... the one whose throughput is closest to half that peak is used for the
# soak (a closed-loop generator sets concurrency, not a rate; the calibration runs are in calibration.jsonl).
#
# Verdict: the first minute is warm-up (caches fill, pools grow). Comparing the mean of the samples of minute 2
# with the mean of the last minute, RSS may grow by at most 10% + 4 MiB and open fds by at most 4; the script
# prints both numbers per daemon and exits 1 when either daemon grows more (or a load run had errors).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=bench/lib.sh
source bench/lib.sh
minutes=10
out=""
build=1
while (($#)); do
  case "$1" in
    --minutes) minutes=$2; shift ;;
    --out) out=$2; shift ;;
    --no-build) build=0 ;;
    -h | --help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "soak.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
[[ -n "$out" ]] || out="/tmp/sigil-soak-$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$out/logs"
out=$(cd "$out" && pwd)
say() { echo "soak: $*" >&2; }
export no_proxy=127.0.0.1,localhost NO_PROXY=127.0.0.1,localhost

if ((build)); then
  say "building (-c opt, no bazel-* symlinks)"
  bazel build -c opt --symlink_prefix=/ //signer:signerd //verifier:verifierd //bench:loadgen >&2
fi
BIN=$(bazel info -c opt --symlink_prefix=/ bazel-bin 2>/dev/null)
WORK=$(mktemp -d /tmp/sigil-soak-work.XXXXXX)
cp "$BIN/signer/signerd" "$BIN/verifier/verifierd" "$BIN/bench/loadgen" "$WORK/"

declare -a PIDS=()
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  for name in signerd verifierd; do
    [[ -f "$WORK/$name.log" ]] && tail -n 200 "$WORK/$name.log" >"$out/logs/$name.log"
  done
  rm -rf "$WORK"
}
trap cleanup EXIT

# --- PKI and token (as bench/run.sh) --------------------------------------------------------------------------------
PKI="$WORK/pki"
TOKEN="$WORK/softhsm"
tools/dev_pki.sh "$PKI" >"$out/logs/dev_pki.log" 2>&1
tools/dev_token.sh "$PKI" "$TOKEN" >"$out/logs/dev_token.log" 2>&1
export SOFTHSM2_CONF="$TOKEN/softhsm2.conf"

OCSP="$WORK/ocsp"
PORT_INT=$(free_port)
PORT_ROOT=$(free_port)
make_ocsp_pki "$OCSP" Soak "$PORT_ROOT" "$PORT_INT"
: >"$OCSP/leaves.pem"
say "making 200 OCSP leaves"
for ((i = 0; i < 200; i++)); do
  ocsp_leaf "$OCSP" "$(printf '3%05X' "$i")" >>"$OCSP/leaves.pem"
done
ocsp_leaf "$OCSP" 200001 >"$OCSP/first.pem"
cat "$OCSP/first.pem" "$OCSP/int.pem" "$OCSP/root.pem" >"$OCSP/chain.pem"
openssl ocsp -index "$OCSP/int.idx" -CA "$OCSP/int.pem" -rsigner "$OCSP/int.pem" -rkey "$OCSP/int-key.pem" \
  -port "$PORT_INT" -nmin 60 >"$out/logs/ocsp-int.log" 2>&1 &
PIDS+=($!)
openssl ocsp -index "$OCSP/root.idx" -CA "$OCSP/root.pem" -rsigner "$OCSP/root.pem" -rkey "$OCSP/root-key.pem" \
  -port "$PORT_ROOT" -nmin 60 >"$out/logs/ocsp-root.log" 2>&1 &
PIDS+=($!)

# --- daemons -----------------------------------------------------------------------------------------------------------
SIGNER_PORT=$(free_port)
VERIFIER_PORT=$(free_port)
listener() { listener_json "$1" "$2" "$PKI"; }
cat >"$WORK/signerd.json" <<JSON
{"listener": $(listener "$SIGNER_PORT" signerd),
 "identities": [{"name": "dev-hsm", "cert_store": "PKCS11", "cert_match_by": "Subject", "cert_match": "dev-hsm",
   "pkcs11": {"module": "/usr/lib/softhsm/libsofthsm2.so", "token_label": "sigil-dev", "pin_file": "$TOKEN/pin",
              "ca_file": "$PKI/ca.pem"}, "allowed_principals": ["operator"]}]}
JSON
cat >"$WORK/verifierd.json" <<JSON
{"listener": $(listener "$VERIFIER_PORT" verifierd),
 "profiles": {"default": {"ocsp_peer": {"verify": true, "ca_timeout": 5}}},
 "ocsp_cache": {"type": "local", "local_store": "$WORK/rc"}}
JSON
"$WORK/signerd" --config "$WORK/signerd.json" >"$WORK/signerd.log" 2>&1 &
SIGNER_PID=$!
PIDS+=("$SIGNER_PID")
"$WORK/verifierd" --config "$WORK/verifierd.json" >"$WORK/verifierd.log" 2>&1 &
VERIFIER_PID=$!
PIDS+=("$VERIFIER_PID")

LG=("$WORK/loadgen" --ca "$PKI/ca.pem" --cert "$PKI/operator.pem" --key "$PKI/operator-key.pem")
for port in "$SIGNER_PORT" "$VERIFIER_PORT"; do
  for ((i = 0; i < 100; i++)); do
    "${LG[@]}" --target "127.0.0.1:$port" --rpc health --requests 1 --concurrency 1 --channels 1 >/dev/null 2>&1 && break
    sleep 0.2
  done
done
SIGN=(--target "127.0.0.1:$SIGNER_PORT" --rpc sign --identity dev-hsm --scheme 0x0403)
VERIFY=(--target "127.0.0.1:$VERIFIER_PORT" --rpc verify_peer --chain "$OCSP/chain.pem" --leaves "$OCSP/leaves.pem")

rate() { python3 -c 'import json,sys; print(json.loads(sys.stdin.readline())["calls_per_s"])'; }
# calibrate NAME ARGS...: prints the concurrency whose throughput is closest to half the peak.
calibrate() {
  local name=$1 peak c r prev_c=1 prev_r=0
  shift
  peak=$("${LG[@]}" "$@" --channels 4 --concurrency 64 --duration 5 --warmup 1 --label "$name peak" |
    tee -a "$out/calibration.jsonl" | rate)
  for c in 1 2 4 8 16 32 64; do
    r=$("${LG[@]}" "$@" --channels 4 --concurrency "$c" --duration 3 --warmup 0.5 --label "$name c=$c" |
      tee -a "$out/calibration.jsonl" | rate)
    if python3 -c "import sys; sys.exit(0 if $r >= $peak / 2 else 1)"; then
      if python3 -c "import sys; sys.exit(0 if $peak / 2 - $prev_r < $r - $peak / 2 and $prev_r > 0 else 1)"; then
        c=$prev_c
        r=$prev_r
      fi
      say "$name: peak $peak calls/s; concurrency $c gave $r calls/s"
      echo "$c"
      return
    fi
    prev_c=$c
    prev_r=$r
  done
  echo 64
}
sign_c=$(calibrate sign "${SIGN[@]}")
verify_c=$(calibrate verify_peer "${VERIFY[@]}")

# --- soak ---------------------------------------------------------------------------------------------------------------
seconds=$((minutes * 60))
say "soaking for $minutes min: sign concurrency $sign_c, verify_peer concurrency $verify_c; samples in $out/samples.csv"
"${LG[@]}" "${SIGN[@]}" --channels 4 --concurrency "$sign_c" --duration "$seconds" --warmup 0 --timeout 30 \
  --label "soak sign" >"$out/load-sign.json" 2>"$out/logs/loadgen-sign.log" &
LOAD_SIGN=$!
"${LG[@]}" "${VERIFY[@]}" --channels 4 --concurrency "$verify_c" --duration "$seconds" --warmup 0 --timeout 30 \
  --label "soak verify_peer" >"$out/load-verify.json" 2>"$out/logs/loadgen-verify.log" &
LOAD_VERIFY=$!

echo "t_s,daemon,rss_kb,fds" >"$out/samples.csv"
start=$(date +%s)
while kill -0 "$LOAD_SIGN" 2>/dev/null || kill -0 "$LOAD_VERIFY" 2>/dev/null; do
  t=$(($(date +%s) - start))
  for d in signerd:$SIGNER_PID verifierd:$VERIFIER_PID; do
    pid=${d#*:}
    rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
    fds=$(ls "/proc/$pid/fd" 2>/dev/null | wc -l)
    echo "$t,${d%%:*},$rss,$fds" >>"$out/samples.csv"
  done
  sleep 5
done
load_rc=0
wait "$LOAD_SIGN" || load_rc=1
wait "$LOAD_VERIFY" || load_rc=1
for f in sign verify; do say "load $f: $(cat "$out/load-$f.json")"; done
for pid in "$SIGNER_PID" "$VERIFIER_PID"; do
  kill -0 "$pid" 2>/dev/null || { say "a daemon died during the soak"; load_rc=1; }
done

python3 - "$out/samples.csv" "$load_rc" <<'PY' | tee "$out/verdict.txt"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
end = max(int(r["t_s"]) for r in rows)
ok = sys.argv[2] == "0"
if not ok:
    print("load: a loadgen run failed or a daemon died")
for daemon in ("signerd", "verifierd"):
    mine = [r for r in rows if r["daemon"] == daemon]
    early = [r for r in mine if 60 <= int(r["t_s"]) < 120] or mine[: max(1, len(mine) // 10)]
    late = [r for r in mine if int(r["t_s"]) >= end - 60]
    mean = lambda rs, k: sum(int(r[k]) for r in rs) / len(rs)
    rss0, rss1 = mean(early, "rss_kb"), mean(late, "rss_kb")
    fd0, fd1 = mean(early, "fds"), mean(late, "fds")
    peak = max(int(r["rss_kb"]) for r in mine)
    flat = rss1 <= rss0 * 1.10 + 4096 and fd1 <= fd0 + 4
    ok = ok and flat
    print(f"{daemon}: RSS {rss0/1024:.1f} MiB (minute 2) -> {rss1/1024:.1f} MiB (last minute), "
          f"{100*(rss1-rss0)/rss0:+.1f}%, peak {peak/1024:.1f} MiB; fds {fd0:.0f} -> {fd1:.0f}: "
          f"{'flat' if flat else 'GROWING'}")
print("verdict:", "PASS" if ok else "FAIL")
sys.exit(0 if ok else 1)
PY
