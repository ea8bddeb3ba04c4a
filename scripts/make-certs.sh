#!/usr/bin/env bash
# Throwaway CA plus one certificate per node/client for --tls-cert/--tls-key/--tls-ca.
#   scripts/make-certs.sh DIR [NAME...]    (default names: node1 node2 node3 client)
# Makes DIR/ca.{pem,key} unless present, then DIR/NAME.{pem,key} for every NAME that
# lacks them: EC P-256, 30 days, CN=NAME, SAN localhost/127.0.0.1, usable as TLS client
# and server (CAF nodes are both). Keys are unencrypted (Stage E has no passphrases), 0600.
# The CA's CN gets a random suffix: two throwaway CAs with one name make OpenSSL report
# "self-signed certificate in certificate chain" instead of "unable to get local issuer".
set -euo pipefail

if [[ $# -lt 1 ]]; then
  echo "usage: $0 DIR [NAME...]" >&2
  exit 2
fi
dir=$1
shift
[[ $# -gt 0 ]] || set -- node1 node2 node3 client
days=30

# Runs a command quietly; shows its output only when it fails.
quiet() {
  local out
  if ! out=$("$@" 2>&1); then
    printf '%s\n' "$out" >&2
    exit 1
  fi
}

umask 077
mkdir -p "$dir"

if [[ ! -s $dir/ca.pem ]]; then
  quiet openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days "$days" \
    -subj "/CN=stagee-throwaway-ca-$(openssl rand -hex 4)" -keyout "$dir/ca.key" -out "$dir/ca.pem" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
  chmod 644 "$dir/ca.pem"
  echo "made $dir/ca.pem $dir/ca.key"
fi

for name in "$@"; do
  if [[ -s $dir/$name.pem && -s $dir/$name.key ]]; then
    continue
  fi
  if [[ ! -s $dir/ca.key ]]; then
    echo "$0: $dir/ca.key is missing; cannot sign $name" >&2
    exit 1
  fi
  quiet openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -subj "/CN=$name" -keyout "$dir/$name.key" -out "$dir/$name.csr"
  quiet openssl x509 -req -in "$dir/$name.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" \
    -set_serial "0x$(openssl rand -hex 16)" -days "$days" -out "$dir/$name.pem" \
    -extfile <(printf '%s\n' "basicConstraints=critical,CA:FALSE" \
      "keyUsage=critical,digitalSignature" "extendedKeyUsage=serverAuth,clientAuth" \
      "subjectAltName=DNS:localhost,IP:127.0.0.1")
  rm -f "$dir/$name.csr"
  chmod 644 "$dir/$name.pem"
  echo "made $dir/$name.pem $dir/$name.key"
done
