#!/bin/sh
# Regenerates strait's test PKI in this directory with the openssl CLI.
#
#   sh testdata/pki/generate.sh
#
# Everything here is test material only: throwaway keys, 100-year validity, checked in so that
# tests never need network access or a generation step. Files:
#
#   ca.crt / ca.key              root CA "strait test CA"
#   ca2.crt / ca2.key            a second, unrelated CA (wrong-CA verify tests)
#   intermediate.crt / .key      intermediate CA signed by ca (for client c's chain)
#   server.crt / server.key      server cert, SAN localhost, 127.0.0.1, upstream.test (by ca)
#   server-ecdsa.crt / .key      the same names with a P-256 key (RSA + ECDSA pairs)
#   mismatch.crt / .key          server cert for other.test only (name mismatch tests)
#   server-ca2.crt / .key        server cert for the same names, signed by ca2
#   client-a.crt / .key          CN=client-a (by ca)
#   client-b.crt / .key          CN=client-b (by ca)
#   client-c.crt / .key          CN=client-c (by intermediate); client-c-chain.crt = leaf+inter
#   client-enc.crt / .key        CN=client-enc, key encrypted with AES-256 ("strait-test-pass")
#   password                     password file for client-enc.key: a wrong password first,
#                                then a blank line, then the right one (CRLF line endings)
#   dhparam.pem                  2048-bit DH parameters for ssl_dhparam tests
#   crl.pem                      CRL by ca revoking client-b
set -eu
cd "$(dirname "$0")"
days=36500
rm -rf work && mkdir work

# rsa_key FILE: a 2048-bit RSA key in PKCS#8 PEM.
rsa_key() { openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$1" 2>/dev/null; }

# ca_cert NAME CN: a self-signed root CA.
ca_cert() {
    rsa_key "$1.key"
    openssl req -x509 -new -key "$1.key" -sha256 -days $days -subj "/O=strait/CN=$2" \
        -addext basicConstraints=critical,CA:true -addext keyUsage=critical,keyCertSign,cRLSign \
        -out "$1.crt"
}

# sign NAME SUBJECT ISSUER EXTFILE [KEY]: a certificate for KEY (default NAME.key) signed by
# ISSUER.
sign() {
    openssl req -new -key "${5:-$1.key}" -subj "$2" -out "work/$1.csr"
    openssl x509 -req -in "work/$1.csr" -CA "$3.crt" -CAkey "$3.key" -CAcreateserial \
        -CAserial "work/$3.srl" -days $days -sha256 -extfile "$4" -out "$1.crt" 2>/dev/null
}

cat > work/server.ext <<X
basicConstraints=CA:false
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1,DNS:upstream.test
X
cat > work/mismatch.ext <<X
basicConstraints=CA:false
extendedKeyUsage=serverAuth
subjectAltName=DNS:other.test
X
cat > work/client.ext <<X
basicConstraints=CA:false
keyUsage=critical,digitalSignature
extendedKeyUsage=clientAuth
X
cat > work/intermediate.ext <<X
basicConstraints=critical,CA:true,pathlen:0
keyUsage=critical,keyCertSign,cRLSign
X

# Step: the two roots and the intermediate.
ca_cert ca "strait test CA"
ca_cert ca2 "strait second test CA"
rsa_key intermediate.key
sign intermediate "/O=strait/CN=strait test intermediate" ca work/intermediate.ext

# Step: server certificates (RSA, ECDSA, wrong name, wrong CA).
rsa_key server.key
sign server "/O=strait/CN=localhost" ca work/server.ext
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out server-ecdsa.key
sign server-ecdsa "/O=strait/CN=localhost" ca work/server.ext
rsa_key mismatch.key
sign mismatch "/O=strait/CN=other.test" ca work/mismatch.ext
rsa_key server-ca2.key
sign server-ca2 "/O=strait/CN=localhost" ca2 work/server.ext

# Step: client certificates; c is issued by the intermediate and ships with its chain.
for c in a b; do
    rsa_key client-$c.key
    sign client-$c "/C=US/O=strait test/OU=clients/CN=client-$c" ca work/client.ext
done
rsa_key client-c.key
sign client-c "/O=strait test/CN=client-c" intermediate work/client.ext
cat client-c.crt intermediate.crt > client-c-chain.crt

# Step: the encrypted key and its password file (wrong, blank, right; CRLF endings).
rsa_key work/client-enc.plain.key
openssl pkey -in work/client-enc.plain.key -aes256 -passout pass:strait-test-pass \
    -out client-enc.key
sign client-enc "/O=strait test/CN=client-enc" ca work/client.ext work/client-enc.plain.key
printf 'not-the-password\r\n\r\nstrait-test-pass\r\n' > password

# Step: DH parameters and a CRL revoking client-b.
openssl dhparam -out dhparam.pem 2048 2>/dev/null
cat > work/ca.cnf <<X
[ca]
default_ca = test
[test]
database = work/index.txt
crlnumber = work/crlnumber
default_md = sha256
default_crl_days = $days
X
: > work/index.txt
echo 01 > work/crlnumber
openssl ca -config work/ca.cnf -keyfile ca.key -cert ca.crt -revoke client-b.crt 2>/dev/null
openssl ca -config work/ca.cnf -keyfile ca.key -cert ca.crt -gencrl -out crl.pem 2>/dev/null

rm -rf work
echo "test PKI regenerated in $(pwd)"
