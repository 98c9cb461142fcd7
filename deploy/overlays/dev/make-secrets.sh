#!/usr/bin/env bash
# Creates the Secrets deploy/overlays/dev mounts, from a development PKI (tools/dev_pki.sh; never for production):
#   signerd-tls, verifierd-tls  kubernetes.io/tls + ca.crt: server certificates for the Services' DNS names
#                               (and localhost, for kubectl port-forward), issued by the dev CA
#   signerd-identity            kubernetes.io/tls: the dev-ecdsa signing identity signerd serves
# The operator client certificate to call the daemons with stays in the PKI directory.
#
# Usage: deploy/overlays/dev/make-secrets.sh [--namespace NS] [--pki DIR] [--print]
#   --namespace NS  default sigil-dev (the dev overlay's namespace)
#   --pki DIR       default .sigil-dev/k8s-pki at the repository root (made when missing)
#   --print         print the Secrets as YAML instead of applying them with kubectl apply
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"

ns=sigil-dev
pki=$ROOT/.sigil-dev/k8s-pki
print=0
while (($#)); do
  case "$1" in
    --namespace) ns=${2:?}; shift ;;
    --pki) pki=${2:?}; shift ;;
    --print) print=1 ;;
    -h | --help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "make-secrets: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done

"$ROOT/tools/dev_pki.sh" "$pki" >&2

# issue NAME SANS: a server certificate NAME-k8s.pem for the given subjectAltName list, from the dev CA.
issue() {
  local name=$1 sans=$2 work
  work=$(mktemp -d)
  (umask 077 && openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
    -out "$pki/$name-k8s-key.pem" 2>/dev/null)
  printf '[leaf]\nbasicConstraints = critical, CA:FALSE\nkeyUsage = critical, digitalSignature\n%s\n%s\n' \
    'extendedKeyUsage = serverAuth' "subjectAltName = $sans" >"$work/ext"
  openssl req -new -key "$pki/$name-k8s-key.pem" -subj "/CN=$name" -out "$work/csr"
  openssl x509 -req -in "$work/csr" -CA "$pki/ca.pem" -CAkey "$pki/ca-key.pem" -set_serial "0x$(openssl rand -hex 15)" \
    -days 90 -sha256 -extfile "$work/ext" -extensions leaf -out "$pki/$name-k8s.pem" 2>/dev/null
  rm -rf "$work"
}
svc() { echo "DNS:$1, DNS:$1.$ns, DNS:$1.$ns.svc, DNS:$1.$ns.svc.cluster.local"; }
issue signerd "$(svc signerd), DNS:localhost, IP:127.0.0.1"
issue verifierd "$(svc verifierd), DNS:*.verifierd-headless.$ns.svc, DNS:*.verifierd-headless.$ns.svc.cluster.local, \
DNS:localhost, IP:127.0.0.1"

# secret NAME CERT KEY: a kubernetes.io/tls Secret with ca.crt, as cert-manager writes them.
secret() {
  kubectl create secret generic "$1" --namespace "$ns" --type kubernetes.io/tls --dry-run=client -o yaml \
    --from-file=tls.crt="$2" --from-file=tls.key="$3" --from-file=ca.crt="$pki/ca.pem"
}
yaml=$(
  secret signerd-tls "$pki/signerd-k8s.pem" "$pki/signerd-k8s-key.pem"
  echo ---
  secret verifierd-tls "$pki/verifierd-k8s.pem" "$pki/verifierd-k8s-key.pem"
  echo ---
  secret signerd-identity "$pki/dev-ecdsa.pem" "$pki/dev-ecdsa-key.pem"
)
if ((print)); then
  echo "$yaml"
else
  kubectl apply -f - <<<"$yaml"
  echo "make-secrets: client certificate for calls: $pki/operator.pem (key operator-key.pem, CA ca.pem)" >&2
fi
