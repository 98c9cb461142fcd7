#!/usr/bin/env bash
# Makes a development SoftHSM2 token with one signing identity whose key is generated on the token.
#
#   tools/dev_token.sh PKI_DIR TOKEN_DIR
#
# PKI_DIR is a tools/dev_pki.sh PKI (its ca.pem / ca-key.pem issue the certificate). TOKEN_DIR receives
# softhsm2.conf (point SOFTHSM2_CONF at it), the token files, the user PIN in `pin` (mode 0600) and
# dev-hsm.pem, the identity's certificate (also stored on the token). The token is labelled "sigil-dev"; the
# EC P-256 key "dev-hsm" never exists outside it. An existing token is kept (delete TOKEN_DIR to remake it).
set -euo pipefail

if (($# != 2)); then
  echo "usage: tools/dev_token.sh PKI_DIR TOKEN_DIR" >&2
  exit 2
fi
pki=$1
dir=$2
module=/usr/lib/softhsm/libsofthsm2.so
label=sigil-dev

for tool in softhsm2-util pkcs11-tool openssl; do
  command -v "$tool" >/dev/null 2>&1 || { echo "dev_token: $tool not found (tools/install_deps.sh)" >&2; exit 1; }
done
[[ -f $module ]] || { echo "dev_token: $module not found (package softhsm2)" >&2; exit 1; }

mkdir -p "$dir/tokens"
chmod 0700 "$dir"
dir=$(cd "$dir" && pwd)
printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' "$dir" >"$dir/softhsm2.conf"
export SOFTHSM2_CONF=$dir/softhsm2.conf

if [[ -f "$dir/dev-hsm.pem" && -f "$dir/pin" ]]; then
  echo "dev_token: $dir already holds the token; keeping it"
  exit 0
fi

(umask 077 && openssl rand -hex 8 >"$dir/pin" && openssl rand -hex 8 >"$dir/so-pin")
pin=$(<"$dir/pin")
so_pin=$(<"$dir/so-pin")
softhsm2-util --init-token --free --label "$label" --pin "$pin" --so-pin "$so_pin" >/dev/null

p11() { pkcs11-tool --module "$module" --token-label "$label" "$@"; }
p11 --login --pin "$pin" --keypairgen --key-type EC:prime256v1 --id 01 --label dev-hsm >/dev/null

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The certificate carries the token's public key: a throwaway key signs the request, -force_pubkey puts the
# token's key in the certificate (OpenSSL 3.0 has no `x509 -new`).
p11 --read-object --type pubkey --id 01 -o "$work/pub.der" >/dev/null
openssl pkey -pubin -inform DER -in "$work/pub.der" -out "$work/pub.pem"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$work/throwaway.pem" 2>/dev/null
openssl req -new -key "$work/throwaway.pem" -subj "/CN=dev-hsm" -out "$work/req.csr"
printf '[leaf]\nbasicConstraints = critical, CA:FALSE\nkeyUsage = critical, digitalSignature\nextendedKeyUsage = serverAuth, clientAuth\nsubjectAltName = DNS:localhost\nsubjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid\n' >"$work/ext"
openssl x509 -req -in "$work/req.csr" -force_pubkey "$work/pub.pem" -CA "$pki/ca.pem" -CAkey "$pki/ca-key.pem" \
  -set_serial "0x$(openssl rand -hex 15)" -days 825 -sha256 -extfile "$work/ext" -extensions leaf \
  -out "$dir/dev-hsm.pem" 2>/dev/null
openssl x509 -in "$dir/dev-hsm.pem" -outform DER -out "$work/cert.der"
p11 --login --pin "$pin" --write-object "$work/cert.der" --type cert --id 01 --label dev-hsm >/dev/null
echo "dev_token: token \"$label\" in $dir with identity dev-hsm (EC P-256, key generated on the token)"
