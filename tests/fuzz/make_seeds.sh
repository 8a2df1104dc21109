#!/usr/bin/env bash
# Regenerates the seed corpora under tests/fuzz/corpus/<name>/ (`make fuzz-seeds`).
# CSRs are made by `openssl req` with fresh keys (the csr target re-signs a
# mutated request with its own key, so the seeds' keys do not matter);
# records and checkpoints by the journal's own encoder (fuzz-seeds, from
# tests/fuzz/seeds.c). The seeds are checked in: run this only to change them.
# Only the folders made here are replaced; a target whose seeds are checked
# in by hand keeps them.
# Usage: make_seeds.sh FUZZ_SEEDS_BINARY
set -euo pipefail
cd "$(dirname "$0")/../.."
gen=$1
out=tests/fuzz/corpus
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
for d in csr json p11uri record checkpoint config; do
	rm -rf "${out:?}/$d" && mkdir -p "$out/$d"
done

# csr: P-256, RSA-2048 and Ed25519 requests, each as PEM and as DER.
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$tmp/p256.key" 2>/dev/null
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$tmp/rsa2048.key" 2>/dev/null
openssl genpkey -algorithm ED25519 -out "$tmp/ed25519.key" 2>/dev/null
csr() { # NAME KEY SUBJECT [SAN]
	local args=(-new -key "$tmp/$2.key" -subj "$3" -out "$out/csr/$1.pem")
	[ -n "${4:-}" ] && args+=(-addext "subjectAltName=$4")
	[ "$2" = ed25519 ] || args+=(-sha256)
	openssl req "${args[@]}"
	openssl req -in "$out/csr/$1.pem" -outform DER -out "$out/csr/$1.der"
}
csr p256-server p256 "/CN=www.example.com/O=Example/OU=Web/C=DE/ST=Berlin/L=Berlin" \
	"DNS:www.example.com,DNS:*.api.example.com,IP:10.1.2.3,IP:fd00::1,URI:https://example.com/svc,email:ops@example.com"
csr rsa2048-server rsa2048 "/CN=10.1.2.3" "IP:10.1.2.3,DNS:localhost,IP:::1"
csr p256-spiffe p256 "/O=Example" "URI:spiffe://example.com/ns/prod/sa/web"
csr ed25519-client ed25519 "/CN=db.example.com" "DNS:db.example.com,email:db@EXAMPLE.com"
csr rsa2048-subca rsa2048 "/CN=Example Sub CA/O=Example/OU=PKI/C=DE"

# json: sign requests (with the P-256 CSR), and the header and query values.
pem=$(cat "$out/csr/p256-server.pem")
jq -cn --arg csr "$pem" '{csr: $csr, profile: "server"}' >"$out/json/minimal.json"
jq -n --arg csr "$pem" '{csr: $csr, profile: "server", ttl: 3600,
	sans: {dns: ["www.example.com", "*.example.com"], ip: ["10.1.2.3", "fd00::1"],
	uri: ["https://example.com/svc"], email: ["ops@example.com"]}}' >"$out/json/full.json"
printf '%s' 'application/json; charset=utf-8' >"$out/json/content-type.txt"
printf '%s' '100' >"$out/json/query.txt"

# p11uri: the URIs of tests/test_hsm_uri.c.
i=0
for uri in \
	'pkcs11:token=signerd-demo;manufacturer=SoftHSM%20project;serial=abc123;model=SoftHSM%20v2' \
	'pkcs11:token=t;object=my%20key;id=%01%02;type=private' \
	'PKCS11:object=ca;type=public' 'pkcs11:object=a%3Bb%3Dc' 'pkcs11:token=demo;serial=42' \
	'pkcs11:token=t;object=ca?pin-value=1234' 'pkcs11:token=t?module-path=/tmp/evil.so' \
	'pkcs11:token=t;slot-id=3' 'pkcs11:' 'pkcs11:token=signerd-demo;object=intermediate-ca;type=cert'; do
	i=$((i + 1))
	printf '%s' "$uri" >"$out/p11uri/uri$i.txt"
done

# record and checkpoint: the journal's own encoder.
"$gen" "$out"

# config: the shipped example, and the demo's shape with every [journal] key.
cp packaging/signerd.conf.example "$out/config/example.conf"
cat >"$out/config/journal.conf" <<'CONF'
[hsm]
module = /usr/lib/softhsm/libsofthsm2.so
token = pkcs11:token=signerd-demo
pin_file = hsm/user.pin
environment = SOFTHSM2_CONF=hsm/softhsm2.conf
sessions = 4
session_keys = true

[ca]
key = pkcs11:token=signerd-demo;object=intermediate-ca
certificate = ca/intermediate.pem
chain = ca/chain.pem
key_blocklist = blocked.txt
signature = pss

[journal]
path = journal
map_size_mb = 64
map_max_mb = 256
audit_key = pkcs11:token=signerd-demo;object=audit
origin = demo.signerd/journal
checkpoint_every = 100
checkpoint_interval = 60s
checkpoint_file = checkpoints.txt
refusals_per_minute = 30

[api]
listen = ::1
port = 0
tls_certificate = tls/server.pem
tls_key = tls/server.key
client_ca = tls/client-ca.pem
client_crl = tls/client-ca.crl
require_client_auth_eku = true

[profile spiffe]
ext_key_usage = serverAuth, clientAuth
spiffe_trust_domain = example.com
uri_prefixes = https://example.com/
email_domains = example.com

[client issuer]
subject_cn = issuer
roles = issuer, auditor
profiles = spiffe

[client pinned]
spki_sha256 = 0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef
san = URI:spiffe://example.com/pinned, DNS:Pinned.Example.com
roles = revoker
CONF
du -sh "$out"
