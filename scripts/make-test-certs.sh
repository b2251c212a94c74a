#!/usr/bin/env bash
# Makes a throwaway PKI for TLS tests and local trials in DIR:
#   ca.pem/ca.key            the CA
#   server.pem/server.key    provd's (or a camera's) certificate for 127.0.0.1 and localhost
#   client.pem/client.key    a client certificate (mTLS) signed by the CA
#   other-ca.pem             an unrelated CA (a client pinning it must fail the handshake)
# Keys are P-256 and created 0600. Not for production.
set -euo pipefail
dir=${1:?usage: make-test-certs.sh DIR}
mkdir -p "$dir"
cd "$dir"
umask 077
ossl() { openssl "$@" 2>/dev/null; }
ca() {  # ca NAME CN
  ossl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1.key" -out "$1.pem" \
    -days 2 -subj "/CN=$2"
}
leaf() {  # leaf NAME CN EXTENSIONS
  ossl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1.key" -out "$1.csr" -subj "/CN=$2"
  printf '%s\n' "$3" >"$1.ext"
  ossl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -out "$1.pem" -days 2 \
    -extfile "$1.ext"
  rm -f "$1.csr" "$1.ext"
}
ca ca "provenance test CA"
ca other-ca "some other CA"
leaf server localhost "subjectAltName=IP:127.0.0.1,DNS:localhost
extendedKeyUsage=serverAuth"
leaf client "procurement client" "extendedKeyUsage=clientAuth"
chmod 0644 ./*.pem
echo "test PKI in $dir: ca.pem server.pem/key client.pem/key other-ca.pem"
