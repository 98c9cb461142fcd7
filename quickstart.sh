#!/usr/bin/env bash
# Sigil quickstart: builds signerd, verifierd and sigilctl, makes a development PKI, starts both daemons on
# loopback with mutual TLS, checks them, makes example Sign calls (a PEM key and a SoftHSM2 token key) and
# prints grpcurl commands to try.
#
# Usage: ./quickstart.sh [--detach | --stop]
#   (none)    stay in the foreground until Ctrl-C, then stop both daemons
#   --detach  leave the daemons running and return (stop them later with --stop)
#   --stop    stop daemons started earlier by this script (found by their pid files) and return
#
# Everything it makes lives in .sigil-dev/ at the repository root: bin/ (copies of the binaries), pki/
# (tools/dev_pki.sh), softhsm/ (a SoftHSM2 token holding the dev-hsm key, tools/dev_token.sh), signerd.json
# and verifierd.json, signerd.log and verifierd.log, signerd.pid and verifierd.pid, and verifierd's working
# directory data (its default OCSP cache, _rc_/).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$ROOT"

DEV="$ROOT/.sigil-dev"
BIN="$DEV/bin"
PKI="$DEV/pki"
TOKEN="$DEV/softhsm"
SIGNER_ADDR=127.0.0.1:7443
VERIFIER_ADDR=127.0.0.1:7444
HEALTH_TIMEOUT=20 # seconds each daemon has to report SERVING
STOP_TIMEOUT=10   # seconds a daemon has to exit after SIGTERM before it is killed
DAEMONS=(signerd verifierd)

usage() { sed -n '6,9p' "$0" | sed 's/^# \{0,1\}//'; }
say() { echo "quickstart: $*"; }

mode=foreground
case "${1:-}" in
  "") ;;
  --detach) mode=detach ;;
  --stop) mode=stop ;;
  -h | --help) usage; exit 0 ;;
  *) echo "quickstart: unknown argument $1" >&2; usage >&2; exit 2 ;;
esac
if (($# > 1)); then
  echo "quickstart: one argument at most" >&2; usage >&2; exit 2
fi

# --- process helpers -------------------------------------------------------------------------------------

# alive PID: the process exists and is not a zombie (an exited child we have not reaped yet).
alive() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  [[ ${stat%% *} != Z ]]
}

# is_daemon PID NAME: PID runs our copy of NAME (guards against a pid file whose pid was reused).
is_daemon() {
  local argv0
  argv0=$(tr '\0' '\n' <"/proc/$1/cmdline" 2>/dev/null | head -n 1) || return 1
  [[ "$argv0" == "$BIN/$2" ]]
}

# stop_pid NAME PID: SIGTERM, wait up to STOP_TIMEOUT seconds, then SIGKILL.
stop_pid() {
  local name=$1 pid=$2 i
  if alive "$pid"; then
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < STOP_TIMEOUT * 10; i++)); do
      alive "$pid" || break
      sleep 0.1
    done
    if alive "$pid"; then
      echo "quickstart: $name (pid $pid) still running ${STOP_TIMEOUT}s after SIGTERM; sending SIGKILL" >&2
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  wait "$pid" 2>/dev/null || true # reaps it when it is our child; a no-op otherwise
}

# stop_from_pidfile NAME: stops a daemon a previous run left behind. Prints what it did.
stop_from_pidfile() {
  local name=$1 pidfile="$DEV/$1.pid" pid
  [[ -f "$pidfile" ]] || return 0
  pid=$(<"$pidfile")
  if [[ "$pid" =~ ^[0-9]+$ ]] && alive "$pid" && is_daemon "$pid" "$name"; then
    stop_pid "$name" "$pid"
    say "stopped $name (pid $pid)"
  fi
  rm -f "$pidfile"
}

if [[ $mode == stop ]]; then
  for name in "${DAEMONS[@]}"; do
    if [[ -f "$DEV/$name.pid" ]]; then stop_from_pidfile "$name"; else say "$name: no pid file, nothing to stop"; fi
  done
  exit 0
fi

# --- daemons this run started; stopped on any failure, on Ctrl-C and on SIGTERM -------------------------

declare -A STARTED=() # name -> pid
keep_running=0
ready=0

# The next three run from traps.
# shellcheck disable=SC2317
stop_started() {
  local name
  for name in "${!STARTED[@]}"; do
    stop_pid "$name" "${STARTED[$name]}"
    rm -f "$DEV/$name.pid"
    say "stopped $name (pid ${STARTED[$name]})"
    unset "STARTED[$name]"
  done
}
# shellcheck disable=SC2317
on_exit() {
  local rc=$?
  if ((keep_running == 0)); then stop_started; fi
  exit "$rc"
}
# shellcheck disable=SC2317
on_signal() {
  trap - INT TERM
  echo
  say "stopping the daemons"
  stop_started
  if ((ready)); then exit 0; else exit 130; fi
}
trap on_exit EXIT
trap on_signal INT TERM

# json_string S: S as a JSON string literal.
json_string() {
  local s=$1
  s=${s//\\/\\\\}
  s=${s//\"/\\\"}
  printf '"%s"' "$s"
}

# listener_json ADDR NAME: the listener block of NAME's config, mTLS with the dev CA.
listener_json() {
  cat <<JSON
{"listen": "$1",
   "tls": {"cert_file": $(json_string "$PKI/$2.pem"),
           "key_file": $(json_string "$PKI/$2-key.pem"),
           "ca_file": $(json_string "$PKI/ca.pem"),
           "verify": true,
           "timeout": 5}}
JSON
}

# identity_json NAME: one PEM identity that the operator may use.
identity_json() {
  printf '{"name": "%s", "cert_file": %s, "key_file": %s, "allowed_principals": ["operator"]}' \
    "$1" "$(json_string "$PKI/$1.pem")" "$(json_string "$PKI/$1-key.pem")"
}

# sigilctl ADDR ARGS...: the CLI as the operator, bounded to 10 seconds.
sigilctl() {
  local target=$1
  shift
  timeout 10 "$BIN/sigilctl" --target "$target" --ca "$PKI/ca.pem" --cert "$PKI/operator.pem" \
    --key "$PKI/operator-key.pem" "$@"
}

# start NAME: starts $BIN/NAME --config $DEV/NAME.json in its own session (so Ctrl-C in this terminal
# reaches only this script, which then stops it with SIGTERM), working directory $DEV.
start() {
  local name=$1 pid
  : >"$DEV/$name.log"
  (cd "$DEV" && SOFTHSM2_CONF="$TOKEN/softhsm2.conf" exec setsid "$BIN/$name" --config "$DEV/$name.json") \
    </dev/null >>"$DEV/$name.log" 2>&1 &
  pid=$!
  STARTED[$name]=$pid
  echo "$pid" >"$DEV/$name.pid"
  say "started $name (pid $pid), log $DEV/$name.log"
}

# show_log NAME: the end of NAME's log, for a failure message.
show_log() {
  echo "---- last lines of $DEV/$1.log ----" >&2
  tail -n 40 "$DEV/$1.log" >&2 || true
  echo "----" >&2
}

# wait_healthy NAME ADDR: until `sigilctl health` succeeds, at most HEALTH_TIMEOUT seconds.
wait_healthy() {
  local name=$1 addr=$2 deadline=$((SECONDS + HEALTH_TIMEOUT)) out=""
  while :; do
    if ! alive "${STARTED[$name]}"; then
      echo "quickstart: $name exited during start-up" >&2
      show_log "$name"
      exit 1
    fi
    if out=$(sigilctl "$addr" health 2>&1); then
      say "$name is healthy on $addr"
      return 0
    fi
    if ((SECONDS >= deadline)); then
      echo "quickstart: $name not healthy on $addr after ${HEALTH_TIMEOUT}s; last health check said:" >&2
      echo "$out" >&2
      show_log "$name"
      exit 1
    fi
    sleep 0.5
  done
}

# --- 1. dependencies and build ---------------------------------------------------------------------------

say "checking Debian packages (tools/install_deps.sh)"
tools/install_deps.sh

say "building (bazel build //signer:signerd //verifier:verifierd //tools:sigilctl)"
bazel build //signer:signerd //verifier:verifierd //tools:sigilctl
bazel_bin=$(bazel info bazel-bin 2>/dev/null)

# --- 2. stop what an earlier run left running, then install the binaries ---------------------------------

mkdir -p "$BIN"
for name in "${DAEMONS[@]}"; do stop_from_pidfile "$name"; done

# Copies, so that a later `bazel build` does not replace the files under running daemons. Copy then rename,
# so a binary that is still running elsewhere is never written in place.
for target in signer/signerd verifier/verifierd tools/sigilctl; do
  name=${target##*/}
  cp -f "$bazel_bin/$target" "$BIN/.$name.new"
  chmod 0755 "$BIN/.$name.new"
  mv -f "$BIN/.$name.new" "$BIN/$name"
done

# --- 3. PKI and configuration ----------------------------------------------------------------------------

tools/dev_pki.sh "$PKI"
# A SoftHSM2 token whose key "dev-hsm" is generated on the token: the credential-store path of signerd.
tools/dev_token.sh "$PKI" "$TOKEN"

cat >"$DEV/signerd.json" <<JSON
{"listener": $(listener_json "$SIGNER_ADDR" signerd),
 "admin_principals": ["operator"],
 "identities": [$(identity_json dev-rsa),
                $(identity_json dev-ecdsa),
                {"name": "dev-hsm", "cert_store": "PKCS11", "cert_match_by": "Subject", "cert_match": "dev-hsm",
                 "pkcs11": {"module": "/usr/lib/softhsm/libsofthsm2.so", "token_label": "sigil-dev",
                            "pin_file": $(json_string "$TOKEN/pin")},
                 "allowed_principals": ["operator"]}]}
JSON
cat >"$DEV/verifierd.json" <<JSON
{"listener": $(listener_json "$VERIFIER_ADDR" verifierd),
 "profiles": {"default": {"ocsp_peer": {"verify": true}}}}
JSON
say "wrote $DEV/signerd.json and $DEV/verifierd.json"

# --- 4. start, wait for health, one Sign -----------------------------------------------------------------

start signerd
start verifierd
wait_healthy signerd "$SIGNER_ADDR"
wait_healthy verifierd "$VERIFIER_ADDR"

say "example: sign SHA-256(\"hello\") with dev-ecdsa and verify it against its certificate"
if ! sigilctl "$SIGNER_ADDR" sign --identity dev-ecdsa --message hello; then
  echo "quickstart: the example Sign call failed or its signature did not verify" >&2
  show_log signerd
  exit 1
fi
say "example: the same with dev-hsm, whose key lives on the SoftHSM2 token"
if ! sigilctl "$SIGNER_ADDR" sign --identity dev-hsm --message hello; then
  echo "quickstart: the example Sign call with the token identity failed" >&2
  show_log signerd
  exit 1
fi
ready=1

# --- 5. what to try next ---------------------------------------------------------------------------------

digest=$(printf hello | openssl dgst -sha256 -binary | base64)
tls_flags="-cacert .sigil-dev/pki/ca.pem -cert .sigil-dev/pki/operator.pem -key .sigil-dev/pki/operator-key.pem"
cat <<EOT

Sigil is running: signerd on $SIGNER_ADDR, verifierd on $VERIFIER_ADDR (mutual TLS; logs in .sigil-dev/).

If you have grpcurl, from $ROOT:

  # services (server reflection)
  grpcurl $tls_flags $SIGNER_ADDR list
  grpcurl $tls_flags $VERIFIER_ADDR list

  # health
  grpcurl $tls_flags $SIGNER_ADDR grpc.health.v1.Health/Check

  # identities and a certificate chain
  grpcurl $tls_flags $SIGNER_ADDR sigil.signer.v1.Signer/ListIdentities
  grpcurl $tls_flags -d '{"identity": "dev-ecdsa"}' $SIGNER_ADDR sigil.signer.v1.Signer/GetCertificateChain

  # sign SHA-256("hello") with dev-ecdsa, scheme 0x0403 (ecdsa_secp256r1_sha256) = 1027;
  # digest = \$(printf hello | openssl dgst -sha256 -binary | base64)
  grpcurl $tls_flags -d '{"identity": "dev-ecdsa", "scheme": 1027, "digest": "$digest"}' $SIGNER_ADDR sigil.signer.v1.Signer/Sign

Without grpcurl, sigilctl does the same and verifies the signature:

  .sigil-dev/bin/sigilctl --target $SIGNER_ADDR --ca .sigil-dev/pki/ca.pem --cert .sigil-dev/pki/operator.pem --key .sigil-dev/pki/operator-key.pem sign --identity dev-rsa --message hello

EOT

if [[ $mode == detach ]]; then
  keep_running=1
  say "daemons left running; stop them with ./quickstart.sh --stop"
  exit 0
fi

say "press Ctrl-C to stop both daemons"
# Returns when a daemon exits on its own; Ctrl-C / SIGTERM interrupt it and run on_signal.
exited_rc=0
wait -n "${STARTED[signerd]}" "${STARTED[verifierd]}" || exited_rc=$?
for name in "${DAEMONS[@]}"; do
  if ! alive "${STARTED[$name]}"; then
    echo "quickstart: $name exited unexpectedly (status $exited_rc)" >&2
    show_log "$name"
  fi
done
exit 1
