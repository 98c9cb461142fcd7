#!/usr/bin/env bash
# Builds the signerd and verifierd container images and smoke-tests them. CI entry point.
#
# Usage: deploy/images/build_and_smoke.sh [--no-bazel] [--keep-images] [--tag TAG]
#   --no-bazel     use the binaries already in bazel-bin instead of running `bazel build`
#   --keep-images  leave the images (localhost/sigil/signerd:TAG, localhost/sigil/verifierd:TAG) in the private
#                  image store afterwards, e.g. to `podman save` them; by default the store is removed
#   --tag TAG      image tag (default: dev, what deploy/overlays/dev deploys)
#
# Steps: (1) bazel builds the daemons and sigilctl; (2) the Debian packages holding the shared libraries the
# daemons link (`ldd` mapped through `dpkg -S`), plus ca-certificates, go into a `debootstrap --variant=minbase
# bookworm` root filesystem with a non-root user sigil (65532), cached by package list; (3) buildah makes
# each image FROM scratch: that root filesystem plus the daemon; (4) smoke test: each image runs under podman
# (`--network host --init --read-only`, as user 65532, ulimits within the shell's hard limits, runtime runc)
# with the config files of deploy/base, deploy/overlays/dev and deploy/overlays/prod mounted where the
# manifests mount them (only listen addresses and, for the PKCS#11 identity, the token label and certificate
# subject are rewritten), a fresh development PKI (tools/dev_pki.sh) as the TLS Secret and the CA bundle
# ConfigMap, and SoftHSM2 as the
# PKCS#11 module where signerd's pkcs11-module init container leaves the module image's files (with its
# configuration where the Secret signerd-pkcs11-client is mounted, and a tools/dev_token.sh token standing in
# for the network HSM); it must answer grpc.health.v1 over mutual TLS and on the
# plaintext health port, signerd must sign through the module, verifierd must create its RocksDB cache in the
# mounted volume, and /metrics must answer on metrics.listen. (5) Every container, image and podman/buildah
# storage directory the script made is removed.
#
# Needs root, debootstrap, buildah, podman, runc, openssl, softhsm2-util, pkcs11-tool, jq, curl, python3
# (tools/install_deps.sh)
# and Debian's mirror. Nothing lands in the repository: the root filesystem cache and the image store live in
# $SIGIL_IMAGE_CACHE (default ${XDG_CACHE_HOME:-/var/tmp}/sigil-images).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"

run_bazel=1
keep_images=0
tag=dev
while (($#)); do
  case "$1" in
    --no-bazel) run_bazel=0 ;;
    --keep-images) keep_images=1 ;;
    --tag) tag=${2:?--tag needs a value}; shift ;;
    -h | --help) sed -n '4,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "build_and_smoke: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done

say() { echo "build_and_smoke: $*"; }
die() { echo "build_and_smoke: $*" >&2; exit 1; }

[[ $(id -u) == 0 ]] || die "needs root (debootstrap and rootful podman)"
for tool in debootstrap buildah podman runc openssl softhsm2-util pkcs11-tool jq dpkg curl python3; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool not found (tools/install_deps.sh)"
done

CACHE=${SIGIL_IMAGE_CACHE:-${XDG_CACHE_HOME:-/var/tmp}/sigil-images}
MIRROR=${SIGIL_DEBIAN_MIRROR:-http://deb.debian.org/debian}
SUITE=bookworm
UID_SIGIL=65532
mkdir -p "$CACHE"
CACHE=$(cd "$CACHE" && pwd)

start_time=$SECONDS
step_time=$SECONDS
timing() { say "$1 took $((SECONDS - step_time)) s"; step_time=$SECONDS; }

# --- 1. binaries -----------------------------------------------------------------------------------------

if ((run_bazel)); then
  say "bazel build //signer:signerd //verifier:verifierd //tools:sigilctl"
  bazel build //signer:signerd //verifier:verifierd //tools:sigilctl
fi
BIN=$(readlink -f bazel-bin)
for b in signer/signerd verifier/verifierd tools/sigilctl; do
  [[ -x $BIN/$b ]] || die "$BIN/$b is missing (run without --no-bazel)"
done
SIGILCTL=$BIN/tools/sigilctl
timing "building the daemons"

# --- 2. root filesystem ----------------------------------------------------------------------------------

# The Debian packages providing every shared library the daemons load (ldd resolves the whole closure). One
# dpkg -S call for all candidate paths (usrmerge: dpkg may know a file under /lib or /usr/lib).
runtime_packages() {
  local b lib
  local -a libs candidates
  for b in "$BIN/signer/signerd" "$BIN/verifier/verifierd"; do
    if ldd "$b" | grep -q 'not found'; then
      ldd "$b" >&2
      die "$b has unresolved libraries on this machine"
    fi
  done
  mapfile -t libs < <(ldd "$BIN/signer/signerd" "$BIN/verifier/verifierd" | awk '$2 == "=>" && $3 ~ /^\// {print $3}' |
    sort -u)
  for lib in "${libs[@]}"; do
    candidates+=("$lib" "$(readlink -f "$lib")" "/usr$lib" "${lib#/usr}")
  done
  # "pkg:arch: /path" per owned file; dpkg exits 1 because some candidates are owned by nobody.
  local owners
  owners=$(dpkg -S "${candidates[@]}" 2>/dev/null || true)
  for lib in "${libs[@]}"; do
    local found=""
    for c in "$lib" "$(readlink -f "$lib")" "/usr$lib" "${lib#/usr}"; do
      found=$(awk -v path="$c" -F': ' '$2 == path {sub(/:.*/, "", $1); print $1; exit}' <<<"$owners")
      [[ -n $found ]] && break
    done
    [[ -n $found ]] || die "no Debian package owns $lib"
    echo "$found"
  done | sort -u
}
mapfile -t packages < <(runtime_packages)
packages+=(ca-certificates)
IFS=, include="${packages[*]}"
key=$(printf '%s\n' "$SUITE" "${packages[@]}" "uid=$UID_SIGIL" | sha256sum | cut -c1-16)
ROOTFS=$CACHE/rootfs-$SUITE-$key
if [[ -d $ROOTFS ]]; then
  say "reusing root filesystem $ROOTFS"
else
  say "debootstrap --variant=minbase $SUITE with ${#packages[@]} runtime packages: $include"
  rm -rf "$CACHE"/rootfs-*.tmp
  tmp=$ROOTFS.tmp
  debootstrap --variant=minbase --include="$include" "$SUITE" "$tmp" "$MIRROR" >"$CACHE/debootstrap.log" 2>&1 ||
    { tail -n 30 "$CACHE/debootstrap.log" >&2; die "debootstrap failed (log: $CACHE/debootstrap.log)"; }
  chroot "$tmp" groupadd --system --gid "$UID_SIGIL" sigil
  chroot "$tmp" useradd --system --uid "$UID_SIGIL" --gid "$UID_SIGIL" --home-dir /var/lib/sigil --no-create-home \
    --shell /usr/sbin/nologin sigil
  install -d -o "$UID_SIGIL" -g "$UID_SIGIL" -m 0750 "$tmp/var/lib/sigil"
  install -d -m 0755 "$tmp/etc/sigil" "$tmp/usr/lib/softhsm" "$tmp/var/lib/softhsm/tokens"
  rm -rf "$tmp"/var/cache/apt/archives/*.deb "$tmp"/var/lib/apt/lists/* "$tmp"/var/log/* "$tmp"/dev/*
  mv "$tmp" "$ROOTFS"
fi
timing "the root filesystem"

# --- 3. images -------------------------------------------------------------------------------------------

# A private podman/buildah configuration and store under $CACHE, so nothing touches the machine's
# /var/lib/containers and cleaning up is removing two directories. runc because crun refuses this machine's
# hybrid cgroup layout; ulimits no higher than our hard limits because podman's defaults (nofile 1048576)
# are refused here.
STORE=$CACHE/store
RUNROOT=$CACHE/run
export CONTAINERS_STORAGE_CONF=$CACHE/storage.conf
export CONTAINERS_CONF=$CACHE/containers.conf
export CONTAINERS_REGISTRIES_CONF=$CACHE/registries.conf
cat >"$CONTAINERS_STORAGE_CONF" <<EOF
[storage]
driver = "${SIGIL_STORAGE_DRIVER:-overlay}"
graphroot = "$STORE"
runroot = "$RUNROOT"
EOF
# At most the shell's hard limits, and at most 65536 files / 4096 processes (threads) per container: enough
# for gRPC's and RocksDB's threads, and below the runtime's own limits (runc failed with EPERM on this machine
# for nproc at the shell's hard limit, 96365, while conmon ran with 32768).
limit() {
  local hard=$1 cap=$2
  if [[ $hard == unlimited ]] || ((hard > cap)); then echo "$cap"; else echo "$hard"; fi
}
nofile=$(limit "$(ulimit -Hn)" 65536)
nproc=$(limit "$(ulimit -Hu)" 4096)
sed -e "s|@NOFILE@|$nofile|g" -e "s|@NPROC@|$nproc|g" -e "s|@RUNROOT@|$RUNROOT|g" -e "s|@STORE@|$STORE|g" \
  deploy/images/containers.conf.in >"$CONTAINERS_CONF"
printf 'unqualified-search-registries = []\n' >"$CONTAINERS_REGISTRIES_CONF"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/sigil-smoke.XXXXXX")
containers=()
# buildah and podman create these even with a private store (blob-info cache, network config, locks); the
# ones that did not exist before this run are removed at the end.
created_dirs=()
for d in /var/lib/containers /run/containers /run/libpod; do [[ -e $d ]] || created_dirs+=("$d"); done
cleanup() {
  local status=$?
  set +e
  for c in "${containers[@]}"; do podman rm --force --time 2 "$c" >/dev/null 2>&1; done
  buildah rm --all >/dev/null 2>&1
  if ((keep_images)) && ((status == 0)); then
    say "images kept in $STORE (CONTAINERS_STORAGE_CONF=$CONTAINERS_STORAGE_CONF)"
  else
    podman system reset --force >/dev/null 2>&1
    rm -rf "$STORE" "$RUNROOT"
  fi
  rm -rf "$WORK"
  ((keep_images)) || for d in "${created_dirs[@]}"; do rm -rf "$d"; done
  exit "$status"
}
trap cleanup EXIT

# build_image NAME BINARY PORT: localhost/sigil/NAME:TAG from the root filesystem and BINARY.
build_image() {
  local name=$1 binary=$2 port=$3 ctr mnt
  ctr=$(buildah from --quiet scratch)
  mnt=$(buildah mount "$ctr")
  cp -a "$ROOTFS/." "$mnt/"
  install -m 0755 "$binary" "$mnt/usr/local/bin/$name"
  # Every library the daemon needs must resolve inside the image, not just on the build machine.
  if chroot "$mnt" /usr/bin/ldd "/usr/local/bin/$name" | grep 'not found'; then
    die "$name: libraries missing from the image"
  fi
  buildah umount "$ctr" >/dev/null
  buildah config \
    --user "$UID_SIGIL:$UID_SIGIL" \
    --workingdir /var/lib/sigil \
    --entrypoint "[\"/usr/local/bin/$name\"]" \
    --cmd "[\"--config\", \"/etc/sigil/config/$name.json\"]" \
    --port "$port" --port 8081 --port 9464 \
    --env SSL_CERT_DIR=/etc/ssl/certs \
    --label org.opencontainers.image.title="$name" \
    --label org.opencontainers.image.source="sigil deploy/images" \
    --label org.opencontainers.image.revision="$(git rev-parse HEAD 2>/dev/null || echo unknown)" \
    "$ctr"
  buildah commit --quiet --rm "$ctr" "localhost/sigil/$name:$tag" >/dev/null
  local size
  size=$(podman image inspect --format '{{.Size}}' "localhost/sigil/$name:$tag")
  say "built localhost/sigil/$name:$tag ($size bytes)"
}
build_image signerd "$BIN/signer/signerd" 7443
build_image verifierd "$BIN/verifier/verifierd" 7444
timing "building both images"

# --- 4. smoke test ---------------------------------------------------------------------------------------

# The TLS Secret (tls.crt, tls.key, ca.crt as cert-manager writes it) and the PKCS#11 token, owned by the
# image's user as the pod's fsGroup makes them.
tools/dev_pki.sh "$WORK/pki" >/dev/null 2>&1 || die "tools/dev_pki.sh failed"
tools/dev_token.sh "$WORK/pki" "$WORK/token" >/dev/null || die "tools/dev_token.sh failed"
for name in signerd verifierd dev-ecdsa; do
  mkdir -p "$WORK/secret-$name"
  cp "$WORK/pki/$name.pem" "$WORK/secret-$name/tls.crt"
  cp "$WORK/pki/$name-key.pem" "$WORK/secret-$name/tls.key"
  cp "$WORK/pki/ca.pem" "$WORK/secret-$name/ca.crt"
done
# The CA bundle prod's configs verify clients against (ConfigMap sigil-ca-bundle at /etc/sigil/ca-bundle).
mkdir -p "$WORK/ca-bundle"
cp "$WORK/pki/ca.pem" "$WORK/ca-bundle/ca.crt"
# A fleet client: prod's identities allow only spiffe://sigil.example.org/fleet.
cat >"$WORK/fleet.ext" <<'EXT'
[leaf]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectAltName = URI:spiffe://sigil.example.org/fleet
EXT
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$WORK/pki/fleet-key.pem" 2>/dev/null
openssl req -new -key "$WORK/pki/fleet-key.pem" -subj "/CN=fleet" -out "$WORK/fleet.csr"
openssl x509 -req -in "$WORK/fleet.csr" -CA "$WORK/pki/ca.pem" -CAkey "$WORK/pki/ca-key.pem" -set_serial 0x1f1ee7 \
  -days 1 -sha256 -extfile "$WORK/fleet.ext" -extensions leaf -out "$WORK/pki/fleet.pem" 2>/dev/null
mkdir -p "$WORK/secret-pkcs11"
cp "$WORK/token/pin" "$WORK/secret-pkcs11/pin"
# The PKCS#11 module as the Deployment's init container leaves it (/opt/sigil/pkcs11, under the name
# signerd.json gives it) and SoftHSM2's configuration as the Secret signerd-pkcs11-client would hold it.
mkdir -p "$WORK/pkcs11-module" "$WORK/pkcs11-client"
cp "$(readlink -f /usr/lib/softhsm/libsofthsm2.so)" "$WORK/pkcs11-module/libpkcs11.so"
printf 'directories.tokendir = /var/lib/softhsm/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' \
  >"$WORK/pkcs11-client/softhsm2.conf"
chown -R "$UID_SIGIL:$UID_SIGIL" "$WORK"
chmod -R go-rwx "$WORK"
chmod 0755 "$WORK"
CLIENT=(--ca "$WORK/pki/ca.pem" --cert "$WORK/pki/operator.pem" --key "$WORK/pki/operator-key.pem")
FLEET=(--ca "$WORK/pki/ca.pem" --cert "$WORK/pki/fleet.pem" --key "$WORK/pki/fleet-key.pem")

# free_port: a TCP port nobody listens on right now.
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_serving PORT HEALTH_PORT: grpc.health.v1 says SERVING over mTLS on PORT and in plaintext on HEALTH_PORT.
wait_serving() {
  local port=$1 health_port=$2 i
  for ((i = 0; i < 100; i++)); do
    if "$SIGILCTL" --target "127.0.0.1:$health_port" --plaintext health >/dev/null 2>&1 &&
      "$SIGILCTL" --target "127.0.0.1:$port" "${CLIENT[@]}" health >/dev/null 2>&1; then
      return 0
    fi
    sleep 0.2
  done
  return 1
}

passed=0
failed=0
# smoke NAME CONFIG [extra podman run arguments...]: runs image NAME with CONFIG (rewritten to free loopback
# ports) mounted at /etc/sigil/config/NAME.json and checks it.
smoke() {
  local name=$1 config=$2 label port health_port metrics_port ctr
  shift 2
  label="$name with ${config#"$ROOT"/}"
  port=$(free_port)
  health_port=$(free_port)
  metrics_port=$(free_port)
  mkdir -p "$WORK/config-$name"
  # Only the addresses change (and, for the PKCS#11 identity, the dev token's label and subject).
  jq --arg l "127.0.0.1:$port" --arg h "127.0.0.1:$health_port" --arg m "127.0.0.1:$metrics_port" '
      .listener.listen = $l | .listener.health_listen = $h | if .metrics then .metrics.listen = $m else . end
      | if .identities then .identities |= map(if .cert_store == "PKCS11"
          then .pkcs11.token_label = "sigil-dev" | .cert_match = "dev-hsm" else . end) else . end' \
    "$config" >"$WORK/config-$name/$name.json"
  chown -R "$UID_SIGIL:$UID_SIGIL" "$WORK/config-$name"
  ctr=sigil-smoke-$name-$$-$port
  containers+=("$ctr")
  podman run --detach --name "$ctr" --network host --init --read-only --tmpfs /tmp \
    --user "$UID_SIGIL:$UID_SIGIL" --cap-drop ALL --security-opt no-new-privileges \
    -v "$WORK/config-$name:/etc/sigil/config:ro" \
    -v "$WORK/secret-$name:/etc/sigil/tls:ro" -v "$WORK/ca-bundle:/etc/sigil/ca-bundle:ro" \
    "$@" "localhost/sigil/$name:$tag" --config "/etc/sigil/config/$name.json" >/dev/null
  local ok=1
  if ! wait_serving "$port" "$health_port"; then
    echo "build_and_smoke: $label: grpc.health.v1 never answered SERVING" >&2
    ok=0
  elif [[ $name == signerd ]]; then
    # Sign through the identity as a caller it allows; a caller it does not allow must be refused.
    local identity caller=("${CLIENT[@]}") other=("${FLEET[@]}")
    identity=$(jq -r '.identities[0].name' "$WORK/config-$name/$name.json")
    if jq -e '.identities[0].allowed_principals | index("spiffe://sigil.example.org/fleet")' \
      "$WORK/config-$name/$name.json" >/dev/null; then
      caller=("${FLEET[@]}")
      other=("${CLIENT[@]}")
    fi
    if ! "$SIGILCTL" --target "127.0.0.1:$port" "${caller[@]}" sign --identity "$identity" --message smoke \
      >/dev/null; then
      echo "build_and_smoke: $label: Sign with identity $identity failed" >&2
      ok=0
    elif "$SIGILCTL" --target "127.0.0.1:$port" "${other[@]}" sign --identity "$identity" --message smoke \
      >/dev/null 2>&1; then
      echo "build_and_smoke: $label: a caller the identity does not allow could sign" >&2
      ok=0
    fi
  elif [[ $name == verifierd ]]; then
    if ! "$SIGILCTL" --target "127.0.0.1:$port" "${CLIENT[@]}" cache-stats >/dev/null; then
      echo "build_and_smoke: $label: Cache/GetStats failed" >&2
      ok=0
    elif [[ ! -d $WORK/data/cache ]]; then
      echo "build_and_smoke: $label: no RocksDB cache in the mounted /var/lib/sigil" >&2
      ok=0
    fi
  fi
  # The Prometheus endpoint the manifests' scrape configuration points at (metrics.listen).
  if ((ok)) && jq -e .metrics "$config" >/dev/null; then
    local scrape
    scrape=$(curl -fsS --max-time 5 "http://127.0.0.1:$metrics_port/metrics" 2>&1) || true
    if ! grep -q '^# TYPE ' <<<"$scrape"; then
      echo "build_and_smoke: $label: no Prometheus metrics on metrics.listen" >&2
      ok=0
    fi
  fi
  # A clean stop on SIGTERM, as the kubelet sends it.
  podman stop --time 10 "$ctr" >/dev/null
  if ((ok)) && [[ $(podman inspect --format '{{.State.ExitCode}}' "$ctr") != 0 ]]; then
    echo "build_and_smoke: $label: exit status $(podman inspect --format '{{.State.ExitCode}}' "$ctr")" \
      "after SIGTERM" >&2
    ok=0
  fi
  if ((ok)); then
    say "ok    $label"
    passed=$((passed + 1))
  else
    podman logs "$ctr" 2>&1 | tail -n 20 | sed 's/^/    /' >&2
    say "FAIL  $label"
    failed=$((failed + 1))
  fi
  podman rm --force "$ctr" >/dev/null
}

# The Windows signerd's config cannot run here, but the Linux signerd reads the same schema and validates the
# same listener, TLS map and identity list. With its C:\ paths pointed at the development PKI it must get through
# all of that and stop only where the Windows certificate store is needed (unknown fields, wrong types, a bad
# tls option or identity name stop it earlier, with another message).
windows_config="$WORK/signerd-windows.json"
jq --arg c "$WORK/pki/signerd.pem" --arg k "$WORK/pki/signerd-key.pem" --arg a "$WORK/pki/ca.pem" \
  '.listener.tls.cert_file = $c | .listener.tls.key_file = $k | .listener.tls.ca_file = $a
   | .listener.listen = "127.0.0.1:0" | .listener.health_listen = "127.0.0.1:0" | .metrics.listen = "127.0.0.1:0"' \
  deploy/components/windows-signer/config/signerd-windows.json >"$windows_config"
windows_out=$(timeout 20 "$BIN/signer/signerd" --config "$windows_config" 2>&1) || true
if grep -q "cannot start: identity 'signer-windows': cert store type not implemented: WindowsLocalMachine is available only in the Windows build" <<<"$windows_out"; then
  say "ok    signerd-windows.json is valid up to the Windows store (host signerd stops there)"
  passed=$((passed + 1))
else
  echo "$windows_out" | tail -n 3 >&2
  say "FAIL  signerd-windows.json is not valid"
  failed=$((failed + 1))
fi

pkcs11_mounts=(
  -v "$WORK/pkcs11-module:/opt/sigil/pkcs11:ro"
  -v "$WORK/pkcs11-client:/etc/sigil/pkcs11-client:ro"
  -v "$WORK/secret-pkcs11:/etc/sigil/pkcs11:ro"
  -v "$WORK/token/tokens:/var/lib/softhsm/tokens"
  -e SOFTHSM2_CONF=/etc/sigil/pkcs11-client/softhsm2.conf
)
smoke signerd "$ROOT/deploy/base/config/signerd.json" "${pkcs11_mounts[@]}"
smoke signerd "$ROOT/deploy/overlays/prod/config/signerd.json" "${pkcs11_mounts[@]}"
smoke signerd "$ROOT/deploy/overlays/dev/config/signerd.json" -v "$WORK/secret-dev-ecdsa:/etc/sigil/identity:ro"
for config in deploy/base/config/verifierd.json deploy/overlays/dev/config/verifierd.json \
  deploy/overlays/prod/config/verifierd.json; do
  rm -rf "$WORK/data"
  install -d -o "$UID_SIGIL" -g "$UID_SIGIL" -m 0750 "$WORK/data"
  smoke verifierd "$ROOT/$config" -v "$WORK/data:/var/lib/sigil"
done
timing "the smoke test"
say "total $((SECONDS - start_time)) s"
echo "images: $passed passed, $failed failed"
((failed == 0))
