# Shell functions shared by bench/run.sh and tools/soak.sh (source it; it defines functions and nothing else).
# Both scripts build the same throwaway OCSP PKI and daemon configs; one copy keeps them identical.

# free_port: a TCP port on 127.0.0.1 that was free a moment ago.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# make_ocsp_pki DIR LABEL PORT_ROOT PORT_INT: an OCSP PKI in DIR for load tests. Root "LABEL OCSP Root" ->
# intermediate "LABEL OCSP Intermediate" (its AIA names a responder on PORT_ROOT, listed good in DIR/root.idx)
# -> leaves made by ocsp_leaf (their AIA names PORT_INT; DIR/int.idx lists them). Every leaf shares one P-256
# key and the subject CN=PEER_CN (lowercase LABEL + "-peer"): the load is about certificates, not keys.
# Sets OCSP_EXPIRY and OCSP_PEER_CN for ocsp_leaf.
make_ocsp_pki() {
  local dir=$1 label=$2 port_root=$3 port_int=$4
  local ca_ext='[ca]\nbasicConstraints = critical, CA:TRUE\nkeyUsage = critical, keyCertSign, cRLSign, digitalSignature\nsubjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid\n'
  OCSP_PEER_CN="$(tr '[:upper:]' '[:lower:]' <<<"$label")-peer"
  mkdir -p "$dir"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$dir/root-key.pem" \
    -subj "/CN=$label OCSP Root" -days 30 -out "$dir/root.pem" 2>/dev/null
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$dir/int-key.pem" \
    -subj "/CN=$label OCSP Intermediate" -out "$dir/int.csr" 2>/dev/null
  printf "$ca_ext"'authorityInfoAccess = OCSP;URI:http://127.0.0.1:%s/\n' "$port_root" >"$dir/int.ext"
  openssl x509 -req -in "$dir/int.csr" -CA "$dir/root.pem" -CAkey "$dir/root-key.pem" -set_serial 0x100001 \
    -days 30 -sha256 -extfile "$dir/int.ext" -extensions ca -out "$dir/int.pem" 2>/dev/null
  printf '[leaf]\nbasicConstraints = critical, CA:FALSE\nkeyUsage = critical, digitalSignature\nextendedKeyUsage = clientAuth\nauthorityInfoAccess = OCSP;URI:http://127.0.0.1:%s/\n' \
    "$port_int" >"$dir/leaf.ext"
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$dir/leaf-key.pem" \
    -subj "/CN=$OCSP_PEER_CN" -out "$dir/leaf.csr" 2>/dev/null
  OCSP_EXPIRY=$(date -u -d '+30 days' +%y%m%d%H%M%SZ)
  printf 'V\t%s\t\t100001\tunknown\t/CN=%s OCSP Intermediate\n' "$OCSP_EXPIRY" "$label" >"$dir/root.idx"
  : >"$dir/int.idx"
  # Every leaf has the same subject: tell `openssl ocsp`'s index loader that subjects need not be unique.
  echo 'unique_subject = no' >"$dir/int.idx.attr"
}

# ocsp_leaf DIR SERIAL_HEX: a leaf from make_ocsp_pki's intermediate on stdout (PEM), listed good in DIR/int.idx.
ocsp_leaf() {
  openssl x509 -req -in "$1/leaf.csr" -CA "$1/int.pem" -CAkey "$1/int-key.pem" -set_serial "0x$2" \
    -days 30 -sha256 -extfile "$1/leaf.ext" -extensions leaf 2>/dev/null
  printf 'V\t%s\t\t%s\tunknown\t/CN=%s\n' "$OCSP_EXPIRY" "$2" "$OCSP_PEER_CN" >>"$1/int.idx"
}

# listener_json PORT NAME PKI_DIR: a daemon's mTLS listener on 127.0.0.1:PORT with PKI_DIR/NAME.pem and its key.
listener_json() {
  printf '{"listen": "127.0.0.1:%s", "tls": {"cert_file": "%s", "key_file": "%s", "ca_file": "%s", "verify": true, "timeout": 5}}' \
    "$1" "$3/$2.pem" "$3/$2-key.pem" "$3/ca.pem"
}
