#!/usr/bin/env bash
# Sigil benchmarks: builds the daemons and the bench tools, makes a throwaway PKI (tools/dev_pki.sh), a SoftHSM2
# token (tools/dev_token.sh plus an RSA key), an OCSP PKI with two local `openssl ocsp` responders, starts signerd
# and verifierd, and runs every measurement with its baseline in the same run. Nothing here asserts speed.
#
# Usage: bench/run.sh [--quick] [--fastbuild] [--out DIR] [--no-build]
#   --quick     seconds instead of minutes: short runs, a 10k-entry cache, few cold leaves (CI smoke: proves the
#               tools work end to end; its numbers mean nothing)
#   --out DIR   where results go (default: bench/out/<UTC timestamp>); results.jsonl holds one JSON object per
#               measurement, summary.md the tables BENCHMARKS.md is made from, logs/ the daemons' and responders'
#   --fastbuild build in the normal (fastbuild) configuration instead of -c opt: shares the test build's outputs
#               (CI smoke); never for numbers anyone reads
#   --no-build  use the binaries already built (in the same configuration)
#
# Exit status: non-zero when a step fails (a daemon does not start, a load run has errors or rejected peers, a
# single-flight count is not one fetch per link); never because something is slow.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=bench/lib.sh
source bench/lib.sh

quick=0
build=1
fastbuild=0
out=""
while (($#)); do
  case "$1" in
    --quick) quick=1 ;;
    --no-build) build=0 ;;
    --fastbuild) fastbuild=1 ;;
    --out) out=$2; shift ;;
    -h | --help) sed -n '6,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "run.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
[[ -n "$out" ]] || out="$ROOT/bench/out/$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$out/logs"
out=$(cd "$out" && pwd)
RESULTS="$out/results.jsonl"
: >"$RESULTS"
# Other work on the machine skews every number: the load average at start and end goes into the summary.
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)

if ((quick)); then
  DURATION=1; WARMUP=0.5; SPEED_SECONDS=1; CACHE_ENTRIES=10000; COLD_LEAVES=20; BURST=100; ROUNDS=1
else
  DURATION=8; WARMUP=2; SPEED_SECONDS=3; CACHE_ENTRIES=1000000; COLD_LEAVES=300; BURST=1000; ROUNDS=3
fi

say() { echo "bench: $*" >&2; }
# The daemons fetch from 127.0.0.1; a proxy in the environment must not see those requests.
export no_proxy=127.0.0.1,localhost NO_PROXY=127.0.0.1,localhost

# Optimized, and without touching the bazel-* symlinks the normal (fastbuild) build owns.
CONFIG=(-c opt --symlink_prefix=/)
if ((fastbuild)); then CONFIG=(); fi
if ((build)); then
  say "building (${CONFIG[*]:-fastbuild})"
  bazel build "${CONFIG[@]}" //signer:signerd //verifier:verifierd //bench:loadgen //bench:cache_bench \
    //bench:tls_bench //bench:p11_speed //client/examples:echo_server //client/provider:sigil.so >&2
fi
BIN=$(bazel info "${CONFIG[@]}" bazel-bin 2>/dev/null)
WORK=$(mktemp -d /tmp/sigil-bench.XXXXXX)
cp "$BIN/signer/signerd" "$BIN/verifier/verifierd" "$BIN/bench/loadgen" "$BIN/bench/cache_bench" "$BIN/bench/tls_bench" \
  "$BIN/bench/p11_speed" "$BIN/client/examples/echo_server" "$WORK/"
mkdir -p "$WORK/provider"
cp "$BIN/client/provider/sigil.so" "$WORK/provider/"

declare -a PIDS=()
cleanup() {
  local pid name
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  # signerd writes one audit line per signature: keep only the end of the daemons' logs.
  for name in signerd verifierd; do
    if [[ -f "$WORK/$name.log" ]]; then tail -n 200 "$WORK/$name.log" >"$out/logs/$name.log"; fi
  done
  rm -rf "$WORK"
}
trap cleanup EXIT


# --- PKI: the dev PKI for mTLS and signing identities, a SoftHSM2 token with an EC and an RSA key -----------------

PKI="$WORK/pki"
TOKEN="$WORK/softhsm"
tools/dev_pki.sh "$PKI" >&2
tools/dev_token.sh "$PKI" "$TOKEN" >"$out/logs/dev_token.log"
export SOFTHSM2_CONF="$TOKEN/softhsm2.conf"
# An RSA-2048 key generated on the token too (dev_token.sh makes only the P-256 one), with its certificate.
p11() { pkcs11-tool --module /usr/lib/softhsm/libsofthsm2.so --token-label sigil-dev "$@"; }
p11 --login --pin "$(<"$TOKEN/pin")" --keypairgen --key-type rsa:2048 --id 02 --label dev-hsm-rsa >/dev/null 2>&1
p11 --read-object --type pubkey --id 02 -o "$WORK/rsa-pub.der" >/dev/null 2>&1
openssl pkey -pubin -inform DER -in "$WORK/rsa-pub.der" -out "$WORK/rsa-pub.pem"
openssl req -new -key "$PKI/dev-rsa-key.pem" -subj "/CN=dev-hsm-rsa" -out "$WORK/rsa.csr"
printf '[leaf]\nbasicConstraints = critical, CA:FALSE\nkeyUsage = critical, digitalSignature\nextendedKeyUsage = serverAuth, clientAuth\n' \
  >"$WORK/leaf.ext"
openssl x509 -req -in "$WORK/rsa.csr" -force_pubkey "$WORK/rsa-pub.pem" -CA "$PKI/ca.pem" -CAkey "$PKI/ca-key.pem" \
  -set_serial 0x5157 -days 30 -sha256 -extfile "$WORK/leaf.ext" -extensions leaf -out "$TOKEN/dev-hsm-rsa.pem" 2>/dev/null
openssl x509 -in "$TOKEN/dev-hsm-rsa.pem" -outform DER -out "$WORK/rsa-cert.der"
p11 --login --pin "$(<"$TOKEN/pin")" --write-object "$WORK/rsa-cert.der" --type cert --id 02 --label dev-hsm-rsa \
  >/dev/null 2>&1

# --- OCSP PKI: root -> intermediate -> leaves, each link's AIA naming a local `openssl ocsp` responder -------------

OCSP="$WORK/ocsp"
PORT_INT=$(free_port)  # answers for leaves (signed by the intermediate)
PORT_ROOT=$(free_port) # answers for the intermediate (signed by the root)
make_ocsp_pki "$OCSP" Bench "$PORT_ROOT" "$PORT_INT"
# leaf NAME SERIAL_HEX: $OCSP/NAME.pem, listed as good in the intermediate's index.
leaf() { ocsp_leaf "$OCSP" "$2" >"$OCSP/$1.pem"; }
say "making the OCSP PKI ($COLD_LEAVES cold leaves)"
leaf burst 200001
leaf warm 200002
: >"$OCSP/cold.pem"
for ((i = 0; i < COLD_LEAVES; i++)); do
  leaf "cold$i" "$(printf '3%05X' "$i")"
  cat "$OCSP/cold$i.pem" >>"$OCSP/cold.pem"
  rm -f "$OCSP/cold$i.pem"
done
for name in burst warm; do cat "$OCSP/$name.pem" "$OCSP/int.pem" "$OCSP/root.pem" >"$OCSP/$name-chain.pem"; done
cat "$OCSP/warm.pem" "$OCSP/int.pem" "$OCSP/root.pem" >"$OCSP/cold-chain.pem"

# responder NAME PORT INDEX CA KEY: `openssl ocsp` printing every request (-req_text) to logs/NAME.log.
responder() {
  stdbuf -oL -eL openssl ocsp -index "$3" -CA "$4" -rsigner "$4" -rkey "$5" -port "$2" -nmin 60 -ignore_err -req_text \
    >"$out/logs/$1.log" 2>&1 &
  PIDS+=($!)
}
responder ocsp-int "$PORT_INT" "$OCSP/int.idx" "$OCSP/int.pem" "$OCSP/int-key.pem"
responder ocsp-root "$PORT_ROOT" "$OCSP/root.idx" "$OCSP/root.pem" "$OCSP/root-key.pem"
# wait_responder NAME: until the responder says it accepts (never probe it with an empty connection: `openssl
# ocsp` 3.0 then spins and answers nothing more).
wait_responder() {
  local i
  for ((i = 0; i < 100; i++)); do
    if grep -q 'waiting for OCSP client connections' "$out/logs/$1.log"; then return 0; fi
    sleep 0.1
  done
  echo "bench: responder $1 did not start:" >&2
  cat "$out/logs/$1.log" >&2
  exit 1
}
wait_responder ocsp-int
wait_responder ocsp-root
# requests_seen NAME: requests the responder has received so far.
requests_seen() { grep -c 'OCSP Request Data:' "$out/logs/$1.log" || true; }

# --- daemons -------------------------------------------------------------------------------------------------------

SIGNER_PORT=$(free_port)
VERIFIER_PORT=$(free_port)
listener() { listener_json "$1" "$2" "$PKI"; }
pem_identity() {
  printf '{"name": "%s", "cert_file": "%s", "key_file": "%s", "allowed_principals": ["operator"]}' \
    "$1" "$PKI/$1.pem" "$PKI/$1-key.pem"
}
hsm_identity() {
  printf '{"name": "%s", "cert_store": "PKCS11", "cert_match_by": "Subject", "cert_match": "%s", "pkcs11": {"module": "/usr/lib/softhsm/libsofthsm2.so", "token_label": "sigil-dev", "pin_file": "%s", "ca_file": "%s"}, "allowed_principals": ["operator"]}' \
    "$1" "$1" "$TOKEN/pin" "$PKI/ca.pem"
}
cat >"$WORK/signerd.json" <<JSON
{"listener": $(listener "$SIGNER_PORT" signerd),
 "identities": [$(pem_identity dev-ecdsa), $(pem_identity dev-rsa), $(hsm_identity dev-hsm), $(hsm_identity dev-hsm-rsa)]}
JSON
cat >"$WORK/verifierd.json" <<JSON
{"listener": $(listener "$VERIFIER_PORT" verifierd),
 "profiles": {"default": {"ocsp_peer": {"verify": true, "ca_timeout": 5}}},
 "ocsp_cache": {"type": "local", "local_store": "$WORK/rc"}}
JSON
start() {
  "$WORK/$1" --config "$WORK/$1.json" >"$WORK/$1.log" 2>&1 &
  PIDS+=($!)
}
start signerd
start verifierd

LG=("$WORK/loadgen" --ca "$PKI/ca.pem" --cert "$PKI/operator.pem" --key "$PKI/operator-key.pem")
wait_healthy() {
  local i
  for ((i = 0; i < 100; i++)); do
    if "${LG[@]}" --target "127.0.0.1:$1" --rpc health --requests 1 --concurrency 1 --channels 1 >/dev/null 2>&1; then
      return 0
    fi
    sleep 0.2
  done
  echo "bench: daemon on port $1 did not become healthy; logs in $out/logs" >&2
  tail -n 20 "$WORK"/*.log >&2
  exit 1
}
wait_healthy "$SIGNER_PORT"
wait_healthy "$VERIFIER_PORT"

# record: appends stdin's JSON lines to results.jsonl (and shows them), with "round":N added while ROUND=N is set.
record() {
  if [[ -n "${ROUND:-}" ]]; then sed "s/^{/{\"round\":$ROUND,/"; else cat; fi | tee -a "$RESULTS" >&2
}
# load LABEL ARGS...: one loadgen run, its JSON line recorded.
load() {
  local label=$1
  shift
  say "$label"
  "${LG[@]}" --label "$label" "$@" | record
}
timed() { load "$@" --duration "$DURATION" --warmup "$WARMUP"; }

# --- 1. VerifyPeer: the cold burst first (both links cold), then warm, then cold leaves ----------------------------

V=(--target "127.0.0.1:$VERIFIER_PORT")
int_before=$(requests_seen ocsp-int)
root_before=$(requests_seen ocsp-root)
load "verify_peer burst: $BURST concurrent cold verifications of one certificate" "${V[@]}" --rpc verify_peer \
  --chain "$OCSP/burst-chain.pem" --requests "$BURST" --concurrency "$BURST" --channels 8
int_fetches=$(($(requests_seen ocsp-int) - int_before))
root_fetches=$(($(requests_seen ocsp-root) - root_before))
printf '{"label":"verify_peer burst responder requests","leaf_link_fetches":%s,"intermediate_link_fetches":%s}\n' \
  "$int_fetches" "$root_fetches" | tee -a "$RESULTS" >&2
if ((int_fetches != 1 || root_fetches != 1)); then
  echo "bench: $BURST concurrent cold verifications made $int_fetches/$root_fetches fetches, not one per link" >&2
  exit 1
fi

timed "health verifierd" "${V[@]}" --rpc health --channels 4 --concurrency 64
timed "verify_peer warm" "${V[@]}" --rpc verify_peer --chain "$OCSP/warm-chain.pem" --channels 4 --concurrency 64
load "verify_peer cold: $COLD_LEAVES distinct leaves" "${V[@]}" --rpc verify_peer --chain "$OCSP/cold-chain.pem" \
  --leaves "$OCSP/cold.pem" --requests "$COLD_LEAVES" --concurrency 16 --channels 4

# --- 2. signerd, in ROUNDS rounds: each round takes its baselines (openssl speed -multi 2 for the key types, the
# SoftHSM2 token's own ceiling, Health/Check) right before its Sign runs, so each ratio compares numbers taken
# within about a minute of each other; summarize.py reports each ratio's median over the rounds. ----------------

S=(--target "127.0.0.1:$SIGNER_PORT")
for ((round = 1; round <= ROUNDS; round++)); do
  ROUND=$round
  say "signer round $round of $ROUNDS: openssl speed -multi 2 ecdsap256 rsa2048"
  openssl speed -multi 2 -seconds "$SPEED_SECONDS" ecdsap256 rsa2048 2>/dev/null >"$out/logs/openssl-speed-$round.txt"
  rsa_speed=$(awk '/^rsa 2048 bits/ {print $(NF-1)}' "$out/logs/openssl-speed-$round.txt")
  ec_speed=$(awk '/256 bits ecdsa \(nistp256\)/ {print $(NF-1)}' "$out/logs/openssl-speed-$round.txt")
  printf '{"label":"openssl speed -multi 2 rsa2048","sign_per_s":%s}\n{"label":"openssl speed -multi 2 ecdsap256","sign_per_s":%s}\n' \
    "$rsa_speed" "$ec_speed" | record
  # The token's ceiling (bench/p11_speed: C_SignInit + C_Sign in a loop on 2 sessions, no Sigil, no gRPC): what
  # signerd could reach through this token at best.
  for key in "dev-hsm ecdsa" "dev-hsm-rsa rsa-pss"; do
    read -r p11_key p11_mechanism <<<"$key"
    say "p11_speed $p11_key $p11_mechanism"
    "$WORK/p11_speed" --token_label sigil-dev --key_label "$p11_key" --pin_file "$TOKEN/pin" \
      --mechanism "$p11_mechanism" --threads 2 --duration "$SPEED_SECONDS" --warmup "$WARMUP" \
      --label "p11_speed $p11_key" 2>>"$out/logs/p11_speed.log" | record
  done
  timed "health signerd" "${S[@]}" --rpc health --channels 4 --concurrency 64
  for id in dev-ecdsa dev-hsm; do
    timed "sign $id unary" "${S[@]}" --rpc sign --identity "$id" --scheme 0x0403 --channels 4 --concurrency 64
    timed "sign_batch $id x32" "${S[@]}" --rpc sign_batch --identity "$id" --scheme 0x0403 --batch 32 --channels 2 \
      --concurrency 8
  done
  for id in dev-rsa dev-hsm-rsa; do
    timed "sign $id unary" "${S[@]}" --rpc sign --identity "$id" --scheme 0x0804 --channels 4 --concurrency 32
    timed "sign_batch $id x16" "${S[@]}" --rpc sign_batch --identity "$id" --scheme 0x0804 --batch 16 --channels 2 \
      --concurrency 4
  done
done
unset ROUND

# --- 3. the cache at CACHE_ENTRIES entries: RocksDB vs the reference cache.json -------------------------------------

say "cache benchmark ($CACHE_ENTRIES entries)"
"$WORK/cache_bench" --entries "$CACHE_ENTRIES" --dir "$WORK/cache-bench" | tee -a "$RESULTS" >&2

# The reference server loads cache.json from its ocsp_cache local_store at start (NATS 2.10+); time that when the
# installed nats-server knows the option, else record why not.
if command -v nats-server >/dev/null 2>&1; then
  mkdir -p "$WORK/nats-store"
  printf 'port: -1\nocsp_cache: {type: local, local_store: "%s"}\n' "$WORK/nats-store" >"$WORK/nats.conf"
  nats_out=$(timeout 5 nats-server -c "$WORK/nats.conf" 2>&1 | head -n 1 || true)
  nats_version=$(nats-server --version 2>&1)
  if [[ $nats_out == *'unknown field "ocsp_cache"'* ]]; then
    printf '{"label":"nats-server cache.json load","status":"not measured: %s rejects the ocsp_cache option (%s); the OCSP peer cache and its cache.json arrived in NATS 2.10"}\n' \
      "$nats_version" "${nats_out//\"/\'}" | tee -a "$RESULTS" >&2
  else
    printf '{"label":"nats-server cache.json load","status":"not measured: %s accepts ocsp_cache, but run.sh does not time it yet"}\n' \
      "$nats_version" | tee -a "$RESULTS" >&2
  fi
fi

# --- 4. TLS handshakes of the example server -------------------------------------------------------------------------
# client/examples/echo_server serving dev-ecdsa's certificate (P-256), each measured client connection a full TLS 1.3
# handshake with a client certificate from the OCSP PKI (warm leaf + intermediate; the server trusts the OCSP root),
# then "bye" and its echo (bench/tls_bench.cc). Two servers, one after the other:
#   local:  the key from its PEM file, mTLS (OpenSSL checks the client chain), no verifierd;
#   remote: the key in signerd (`sigil` provider: one Sign RPC per handshake) and every client chain sent to
#           verifierd's VerifyPeer (3 certificates, 2 eligible links, warm).
# The server is not asked for a staple (tls_bench sends no status_request), so --staple would change nothing.

TLS_THREADS=8
# echo_server NAME ARGS...: starts echo_server with the environment ECHO_ENV, waits for its port (in $ECHO_PORT).
echo_server() {
  local name=$1 i
  shift
  env "${ECHO_ENV[@]}" "$WORK/echo_server" --listen=127.0.0.1:0 --max_connections=256 "$@" >"$WORK/$name.log" 2>&1 &
  PIDS+=($!)
  ECHO_PID=$!
  for ((i = 0; i < 100; i++)); do
    ECHO_PORT=$(sed -n 's/.*listening on .* (port \([0-9]*\)).*/\1/p' "$WORK/$name.log")
    if [[ -n "$ECHO_PORT" ]] && grep -q 'Server is ready' "$WORK/$name.log"; then return 0; fi
    sleep 0.1
  done
  echo "bench: $name did not start:" >&2
  cat "$WORK/$name.log" >&2
  exit 1
}
stop_echo() {
  kill "$ECHO_PID" 2>/dev/null || true
  wait "$ECHO_PID" 2>/dev/null || true
  tail -n 50 "$WORK/$1.log" >"$out/logs/$1.log"
}
cat "$OCSP/warm.pem" "$OCSP/int.pem" >"$WORK/tls-client-chain.pem"
TLS_CLIENT=("$WORK/tls_bench" --cert "$WORK/tls-client-chain.pem" --key "$OCSP/leaf-key.pem" --threads "$TLS_THREADS"
  --duration "$DURATION" --warmup "$WARMUP")

ECHO_ENV=()
echo_server echo-local --cert "$PKI/dev-ecdsa.pem" --key "$PKI/dev-ecdsa-key.pem" --client_ca "$OCSP/root.pem"
say "tls local key, no peer verification"
"${TLS_CLIENT[@]}" --connect "127.0.0.1:$ECHO_PORT" --label "tls local key, no peer verification" \
  | tee -a "$RESULTS" >&2
stop_echo echo-local

# The provider finds signerd through these (client/examples/README.md).
ECHO_ENV=("SIGIL_SIGNER=127.0.0.1:$SIGNER_PORT" "SIGIL_CA_FILE=$PKI/ca.pem" "SIGIL_CERT_FILE=$PKI/operator.pem"
  "SIGIL_KEY_FILE=$PKI/operator-key.pem" "SIGIL_TIMEOUT_MS=5000")
echo_server echo-remote --cert "$PKI/dev-ecdsa.pem" --key_uri sigil:identity=dev-ecdsa \
  --provider_path "$WORK/provider" --client_ca "$OCSP/root.pem" --verifier "127.0.0.1:$VERIFIER_PORT" \
  --verifier_ca "$PKI/ca.pem" --verifier_cert "$PKI/operator.pem" --verifier_key "$PKI/operator-key.pem"
say "tls remote key + peer verification"
"${TLS_CLIENT[@]}" --connect "127.0.0.1:$ECHO_PORT" --label "tls remote key + peer verification" | tee -a "$RESULTS" >&2
stop_echo echo-remote

{
  echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "commit: $(git rev-parse --short HEAD)"
  echo "load average (1/5/15 min) at start: $LOAD_START; at end: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "command: bench/run.sh $([[ $quick == 1 ]] && echo --quick) $([[ $fastbuild == 1 ]] && echo --fastbuild)"
} >"$out/machine.txt"
python3 "$ROOT/bench/summarize.py" "$RESULTS" "$out/machine.txt" >"$out/summary.md"
say "results: $RESULTS, summary: $out/summary.md"
cat "$out/summary.md"
