#!/usr/bin/env bash
# Installs the Debian 12 packages Sigil needs to build, test and run. Idempotent: when every package is
# already installed it does nothing (no apt-get update, no output).
#
# Usage: tools/install_deps.sh
set -euo pipefail

# Everything the project needs from Debian. Later work adds to this one list.
PACKAGES=(
  bazel-bootstrap        # Bazel 4.2.3 (pulls in build-essential and a JDK)
  libgrpc++-dev          # gRPC C++ (with reflection)
  protobuf-compiler-grpc # grpc_cpp_plugin
  protobuf-compiler      # protoc
  libprotobuf-dev
  libabsl-dev
  libssl-dev             # OpenSSL 3.0
  librocksdb-dev         # OCSP response cache
  libgtest-dev
  libgmock-dev
  libcurl4-openssl-dev   # HTTP to OCSP responders
  pkg-config             # tools/bazel/system_libs.bzl reads link flags with it
  softhsm2               # PKCS#11 token for tests
  opensc                 # pkcs11-tool
  libp11-kit-dev         # pkcs11.h (header only; PKCS#11 modules are dlopen()ed)
  swtpm                  # software TPM for the tpm2-pkcs11 tests
  swtpm-tools
  libtpm2-pkcs11-1       # PKCS#11 module over a TPM 2.0
  tpm2-tools
  nats-server            # advisory bus in tests
  dnsmasq-base           # SRV records for the client library's replica discovery test
  jq                     # deploy/images smoke test rewrites the daemons' configs
  curl                   # ... and scrapes /metrics
  libnats-dev
  openssl                # dev PKI, OCSP responder in tests
  python3-grpcio
  ca-certificates
  g++-mingw-w64-x86-64-posix  # cross-compiles the Windows certificate store (tools/windows/build_winstore.sh)
  googletest             # GoogleTest sources, cross-compiled with mingw for the Windows store's unit tests
  wine                   # Wine 8: runs the Windows store's tests (headless, fresh WINEPREFIX)
  wine64
  prometheus-cpp-dev     # metrics endpoint of both daemons
  clang-14               # libFuzzer targets (tools/fuzz.sh)
  libclang-rt-14-dev
  libfuzzer-14-dev
  debootstrap            # container images (deploy/images): minbase root filesystem
  buildah                # ... built FROM scratch offline
  podman                 # ... and smoke-tested
  runc                   # podman's runtime here (crun refuses hybrid cgroups)
  uidmap
  fuse-overlayfs
)

missing=()
for pkg in "${PACKAGES[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
  if [[ "$status" != "install ok installed" ]]; then
    missing+=("$pkg")
  fi
done

if ((${#missing[@]} == 0)); then
  exit 0
fi

as_root=()
if ((EUID != 0)); then
  if command -v sudo >/dev/null 2>&1; then
    as_root=(sudo)
  else
    echo "install_deps: not root and no sudo; install these packages first: ${missing[*]}" >&2
    exit 1
  fi
fi

echo "install_deps: installing ${missing[*]}"
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install_deps: done"
