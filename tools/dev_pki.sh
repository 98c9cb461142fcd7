#!/usr/bin/env bash
# Generates Sigil's development PKI with the openssl CLI (OpenSSL 3.0). Never use it outside development:
# every key is a plain PEM file.
#
# Usage: tools/dev_pki.sh [--force] [DIR]
#   DIR      where to write (default: .sigil-dev/pki at the repository root)
#   --force  regenerate even when DIR/ca.pem exists (otherwise an existing PKI is left alone)
#
# Writes, each certificate beside its key (keys are mode 0600):
#   ca.pem, ca-key.pem                   EC P-256 self-signed root "CN=Sigil Dev CA"
#   signerd.pem, signerd-key.pem         server certificates: SAN DNS:localhost, IP:127.0.0.1; serverAuth
#   verifierd.pem, verifierd-key.pem
#   operator.pem, operator-key.pem       client certificate CN=operator, SAN URI spiffe://sigil.dev/operator;
#                                        clientAuth
#   dev-rsa.pem, dev-rsa-key.pem         signerd's signing identities: RSA-2048 / EC P-256, CN=dev-rsa /
#   dev-ecdsa.pem, dev-ecdsa-key.pem     CN=dev-ecdsa, SAN DNS:localhost; serverAuth + clientAuth
# Leaf certificates are valid for 825 days, the root for 3650.
set -euo pipefail

usage() { sed -n '5,8p' "$0" | sed 's/^# \{0,1\}//'; }

force=0
dir=""
while (($#)); do
  case "$1" in
    --force) force=1 ;;
    -h | --help) usage; exit 0 ;;
    -*) echo "dev_pki: unknown option $1" >&2; usage >&2; exit 2 ;;
    *)
      if [[ -n "$dir" ]]; then echo "dev_pki: more than one DIR" >&2; exit 2; fi
      dir="$1"
      ;;
  esac
  shift
done
if [[ -z "$dir" ]]; then
  dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/.sigil-dev/pki"
fi

if [[ -e "$dir/ca.pem" && $force -eq 0 ]]; then
  echo "dev_pki: $dir/ca.pem exists; keeping the existing PKI (--force regenerates it)" >&2
  exit 0
fi

command -v openssl >/dev/null 2>&1 || { echo "dev_pki: openssl not found (tools/install_deps.sh)" >&2; exit 1; }

mkdir -p "$dir"
# Everything is made in a scratch directory and moved into place at the end, ca.pem last, so an
# interrupted run never leaves a ca.pem that would make the next run skip an incomplete PKI.
work=$(mktemp -d "$dir/.dev_pki.XXXXXX")
trap 'rm -rf "$work"' EXIT

LEAF_DAYS=825
CA_DAYS=3650

# new_key NAME ALGORITHM: writes $work/NAME-key.pem (PKCS#8, mode 0600).
new_key() {
  local name=$1 alg=$2
  local -a opts
  case "$alg" in
    ec) opts=(-algorithm EC -pkeyopt ec_paramgen_curve:P-256 -pkeyopt ec_param_enc:named_curve) ;;
    rsa) opts=(-algorithm RSA -pkeyopt rsa_keygen_bits:2048) ;;
  esac
  (umask 077 && openssl genpkey "${opts[@]}" -out "$work/$name-key.pem" 2>/dev/null)
  chmod 0600 "$work/$name-key.pem"
}

# A random positive serial of at most 16 bytes (RFC 5280 allows 20).
serial() { echo "0x$(openssl rand -hex 15)"; }

# issue NAME CN ALGORITHM EXTENSIONS: a leaf key and certificate signed by the dev CA.
issue() {
  local name=$1 cn=$2 alg=$3 ext=$4
  new_key "$name" "$alg"
  printf '[leaf]\nbasicConstraints = critical, CA:FALSE\nsubjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid\n%s\n' \
    "$ext" >"$work/$name.ext"
  openssl req -new -key "$work/$name-key.pem" -subj "/CN=$cn" -out "$work/$name.csr"
  openssl x509 -req -in "$work/$name.csr" -CA "$work/ca.pem" -CAkey "$work/ca-key.pem" \
    -set_serial "$(serial)" -days "$LEAF_DAYS" -sha256 -extfile "$work/$name.ext" -extensions leaf \
    -out "$work/$name.pem" 2>/dev/null
}

# Root CA.
new_key ca ec
cat >"$work/ca.cnf" <<'CNF'
[req]
distinguished_name = dn
prompt = no
[dn]
CN = Sigil Dev CA
[ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
CNF
openssl req -x509 -new -config "$work/ca.cnf" -extensions ca -key "$work/ca-key.pem" \
  -set_serial "$(serial)" -days "$CA_DAYS" -sha256 -out "$work/ca.pem"

server_ext='keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1'
issue signerd signerd ec "$server_ext"
issue verifierd verifierd ec "$server_ext"

issue operator operator ec 'keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectAltName = URI:spiffe://sigil.dev/operator'

issue dev-rsa dev-rsa rsa 'keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth, clientAuth
subjectAltName = DNS:localhost'
issue dev-ecdsa dev-ecdsa ec 'keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth, clientAuth
subjectAltName = DNS:localhost'

# Check every leaf against the new root before installing anything.
for name in signerd verifierd operator dev-rsa dev-ecdsa; do
  openssl verify -CAfile "$work/ca.pem" "$work/$name.pem" >/dev/null
done

# Install: keys and leaves first, the root last. A regenerated root invalidates every old leaf, so with
# --force all files are replaced together.
for name in signerd verifierd operator dev-rsa dev-ecdsa ca; do
  for file in "$name-key.pem" "$name.pem"; do
    mv -f "$work/$file" "$dir/$file"
    echo "dev_pki: wrote $dir/$file"
  done
done
