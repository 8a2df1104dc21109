#!/usr/bin/env bash
# The embedded demo: a SoftHSM token, a root and an intermediate CA whose
# keys are generated inside it, TLS identities for the API, and a config,
# all under $DEMO_DIR. Created once; later runs reuse it.
#
#   demo.sh init   create the state if missing
#   demo.sh run    init, print a ready-to-paste issuance recipe, run signerd
#
# Environment: DEMO_DIR (default ./demo), PORT (8443), CA_KEY_TYPE (p256),
# BUILD (build dir holding signerd and signerctl), SOFTHSM_MODULE.
# CRLs, OCSP and the CA certificate are served over plain HTTP on PORT+1
# (PUBLIC_PORT); with PORT=0 (an ephemeral port, as the tests run it) no
# port can be named in advance: no public listener and no URLs then.
# ACME (profile server): http-01 is validated on port ACME_HTTP_PORT
# (PORT+2) and tls-alpn-01 on ACME_TLS_PORT (PORT+3), of 127.0.0.1 for the
# names of ACME_HOSTS (acme.example.com): a closed network's pinned map.
# ACME_RESOLVER (unset: none) is [acme] resolver, the DNS server dns-01 asks.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
case "$BUILD" in /*) ;; *) BUILD="$here/$BUILD" ;; esac
DEMO_DIR=${DEMO_DIR:-$here/demo}
PORT=${PORT:-8443}
CA_KEY_TYPE=${CA_KEY_TYPE:-p256}
SOFTHSM_MODULE=${SOFTHSM_MODULE:-/usr/lib/softhsm/libsofthsm2.so}
TOKEN=signerd-demo
if [ -z "${PUBLIC_PORT:-}" ]; then
	if [ "$PORT" = 0 ]; then PUBLIC_PORT=0; else PUBLIC_PORT=$((PORT + 1)); fi
fi
PUBLIC_URL=http://127.0.0.1:$PUBLIC_PORT
if [ "$PORT" != 0 ]; then
	ACME_HTTP_PORT=${ACME_HTTP_PORT:-$((PORT + 2))}
	ACME_TLS_PORT=${ACME_TLS_PORT:-$((PORT + 3))}
fi
ACME_HOSTS=${ACME_HOSTS:-acme.example.com}
OCSP_KEY="pkcs11:token=$TOKEN;object=ocsp-responder"

mkdir -p "$DEMO_DIR"
D=$(cd "$DEMO_DIR" && pwd)
CONF="$D/signerd.conf"
ctl() { "$BUILD/signerctl" -c "$CONF" "$@"; }

# The [ca] lines for revocation publishing (also added to an older state's config).
ca_revocation() {
	cat <<CONF
# Revocation: CRLs signed by the CA key, OCSP answers by a delegated
# responder key in the same token. short_lived = 2h: spiffe-workload
# certificates (1h) carry no CRL or OCSP pointer and are never listed,
# while server and client certificates (12h) are revocable.
ocsp_key = $OCSP_KEY
ocsp_certificate = ca/ocsp-responder.pem
crl_validity = 1d
crl_delay = 1s
short_lived = 2h
CONF
}

# The plain-HTTP listener for CRLs, OCSP and the CA certificate (no TLS: all are signed).
api_public() {
	[ "$PUBLIC_PORT" != 0 ] || return 0
	printf 'public_listen = 127.0.0.1\npublic_port = %s\n' "$PUBLIC_PORT"
}

# Where a relying party finds the CRL, the OCSP responder and the issuing CA's certificate.
profile_urls() {
	[ "$PUBLIC_PORT" != 0 ] || return 0
	printf 'crl_url = %s\nocsp_url = %s\nca_issuers_url = %s\n' "$PUBLIC_URL/v1/ca/issuing/crl" \
		"$PUBLIC_URL/ocsp" "$PUBLIC_URL/v1/ca/issuing/certificate"
}

# [acme]: where validation connects. Names map to 127.0.0.1, never to DNS.
acme_section() {
	local h
	printf '[acme]\n'
	[ -z "${ACME_HTTP_PORT:-}" ] || printf 'http_port = %s\n' "$ACME_HTTP_PORT"
	[ -z "${ACME_TLS_PORT:-}" ] || printf 'tls_port = %s\n' "$ACME_TLS_PORT"
	for h in $ACME_HOSTS; do printf 'hosts = %s=127.0.0.1\n' "$h"; done
	[ -z "${ACME_RESOLVER:-}" ] || printf 'resolver = %s\n' "$ACME_RESOLVER"
}

write_config() {
	cat >"$CONF" <<CONF
# signerd demo configuration (created by packaging/demo.sh).
# Relative paths are relative to this file's directory.

[hsm]
module = $SOFTHSM_MODULE
token = pkcs11:token=$TOKEN
pin_file = hsm/user.pin
environment = SOFTHSM2_CONF=$D/hsm/softhsm2.conf
session_keys = true

[ca]
key = pkcs11:token=$TOKEN;object=intermediate-ca
certificate = ca/intermediate.pem
chain = ca/chain.pem
$(ca_revocation)

[journal]
path = journal
map_size_mb = 1024
map_max_mb = 4096
audit_key = pkcs11:token=$TOKEN;object=audit-key
origin = signerd.demo/journal
checkpoint_every = 1000
# A checkpoint at every start and stop, and each minute when anything was
# journaled. checkpoint_file sits outside journal/ on purpose: ship it
# elsewhere (another host, write-once storage), because whoever can rewrite
# the journal can rewrite a copy beside it. checkpoint_url (a line each)
# POSTs every checkpoint to a receiver off the box (README "Pushing checkpoints").
checkpoint_interval = 60s
checkpoint_file = outside/checkpoints.txt

[process]
# Started as root, signerd becomes this user: the demo's files belong to
# whoever made it. A server names its own service user (packaging/signerd.conf).
user = $(id -un)
seccomp = kill

$(acme_section)

[api]
listen = 127.0.0.1
port = $PORT
tls_certificate = tls/server.pem
tls_key = tls/server.key
client_ca = tls/client-ca.pem
workers = 16
$(api_public)

# TLS servers. keyEncipherment is certified only for RSA keys (EC and
# Ed25519 keys get digitalSignature alone).
[profile server]
default_ttl = 12h
max_ttl = 7d
backdate = 60s
key_types = rsa, p256, p384, p521, ed25519
key_usage = digitalSignature, keyEncipherment
ext_key_usage = serverAuth
$(profile_urls)
dns_suffixes = example.com, localhost
ip_ranges = 127.0.0.0/8, ::1/128
wildcards = false
# ACME at /acme/server/directory, for accounts bound to an EAB key (signerctl acme eab add).
acme = true

# TLS clients: the same DNS names as server, plus e-mail addresses.
[profile client]
default_ttl = 12h
max_ttl = 7d
backdate = 60s
key_usage = digitalSignature
ext_key_usage = clientAuth
$(profile_urls)
dns_suffixes = example.com, localhost
ip_ranges = 127.0.0.0/8, ::1/128
email_domains = example.com

# SPIFFE X.509-SVIDs: one URI SAN spiffe://example.com/..., nothing else.
[profile spiffe-workload]
default_ttl = 1h
max_ttl = 24h
backdate = 60s
key_usage = digitalSignature
ext_key_usage = serverAuth, clientAuth
spiffe_trust_domain = example.com

# Subordinate CAs, for the admin client only; may not issue further CAs.
[profile subordinate-ca]
ca = true
path_len = 0
default_ttl = 30d
max_ttl = 365d
backdate = 60s
key_types = rsa, p256, p384, p521
key_usage = keyCertSign, cRLSign
subject_attributes = CN, O, OU, C
permitted_dns = example.com
excluded_ip = 0.0.0.0/0, ::/0

CONF
}

DEMO_SPIFFE=spiffe://signerd.demo/issuer	# the URI SAN of the demo issuer's certificate

# SHA-256 of a certificate's DER SubjectPublicKeyInfo: what [client] spki_sha256 pins.
spki_pin() {
	openssl x509 -in "$1" -noout -pubkey | openssl pkey -pubin -outform DER | openssl dgst -sha256 -r | cut -d' ' -f1
}

# The [client] sections, pinned to the keys of the certificates under clients/:
# another certificate the client CA issues with the same CN is nobody.
write_clients() {
	cat >>"$CONF" <<CONF
# Pinned by key (README, "Client identities"): re-issuing a client's
# certificate with the same CN but another key grants nothing. The issuer is
# also pinned by the SPIFFE ID in its certificate.
[client issuer]
spki_sha256 = $(spki_pin "$D/clients/issuer.pem")
san = URI:$DEMO_SPIFFE
roles = issuer
profiles = server, client, spiffe-workload

[client admin]
spki_sha256 = $(spki_pin "$D/clients/admin.pem")
roles = issuer, admin
profiles = subordinate-ca

[client auditor]
spki_sha256 = $(spki_pin "$D/clients/auditor.pem")
roles = auditor

[client revoker]
spki_sha256 = $(spki_pin "$D/clients/revoker.pem")
roles = revoker
CONF
}

# A client certificate for the demo client WHO (run in tls/): clientAuth, and the issuer's SPIFFE ID.
client_cert() { # who
	local ext
	ext=$(printf '%s
' 'basicConstraints=critical,CA:FALSE' 'keyUsage=critical,digitalSignature' \
		'extendedKeyUsage=clientAuth')
	[ "$1" != issuer ] || ext=$(printf '%s
%s
' "$ext" "subjectAltName=URI:$DEMO_SPIFFE")
	tls_cert "../clients/$1" "$1" client-ca "$ext"
	rm -f ./*.srl
}

# A file-key certificate for the API's TLS layer (not an HSM key).
tls_cert() { # name cn ca extensions...
	local name=$1 cn=$2 ca=$3 ext=$4
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$name.key" -out "$name.csr" -subj "/O=signerd demo/CN=$cn" 2>/dev/null
	openssl x509 -req -in "$name.csr" -CA "$ca.pem" -CAkey "$ca.key" -CAcreateserial \
		-days 825 -sha256 -extfile <(printf '%s\n' "$ext") -out "$name.pem" 2>/dev/null
	rm -f "$name.csr"
	chmod 600 "$name.key"
}

tls_ca() { # name cn
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$1.key" -out "$1.pem" -days 3650 -subj "/O=signerd demo/CN=$2" \
		-addext "basicConstraints=critical,CA:TRUE" \
		-addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
	chmod 600 "$1.key"
}

# A state made before signerd changed user has no [process] section, and
# the default user (signerd) may not exist here: name whoever runs the demo.
upgrade_process() {
	grep -q '^\[process\]' "$CONF" && return 0
	sed -i "/^\[api\]\$/i [process]\nuser = $(id -un)\nseccomp = kill\n" "$CONF"
	echo "demo: added [process] user = $(id -un) to $CONF"
}

# A state made before clients were pinned: add the revoker, give the issuer
# its SPIFFE ID (a new certificate), and write the [client] sections again,
# pinned. The demo's own config ends with its [client] sections.
upgrade_clients() {
	grep -q '^\[client revoker\]' "$CONF" && return 0
	(
		umask 077
		cd "$D/tls"
		[ -f ../clients/revoker.pem ] || client_cert revoker
		openssl x509 -in ../clients/issuer.pem -noout -ext subjectAltName 2>/dev/null | grep -qF "$DEMO_SPIFFE" ||
			client_cert issuer
	)
	sed -i '/^\[client /,$d' "$CONF"
	write_clients
	echo "demo: added client revoker and pinned the demo clients by key in $CONF"
}

# The CA key's type (signerctl keygen's name) from the issuing certificate.
ca_key_type() {
	local text
	text=$(openssl x509 -in "$D/ca/intermediate.pem" -noout -text)
	case "$text" in
	*"ED25519"*) echo ed25519 ;;
	*"prime256v1"* | *"P-256"*) echo p256 ;;
	*"secp384r1"* | *"P-384"*) echo p384 ;;
	*"secp521r1"* | *"P-521"*) echo p521 ;;
	*"rsaEncryption"*) echo "rsa$(printf '%s\n' "$text" | sed -n 's/.*Public-Key: (\([0-9]*\) bit).*/\1/p' | head -n1)" ;;
	*) echo "demo: cannot tell the CA key's type from $D/ca/intermediate.pem" >&2; return 1 ;;
	esac
}

# The delegated OCSP responder: a key of the CA key's type in the token,
# certified by the intermediate (EKU OCSPSigning, ocsp-nocheck).
ocsp_responder() { # key type
	ctl keygen --type "$1" --key "$OCSP_KEY"
	ctl ocsp-responder --key "$OCSP_KEY" --issuer-key "pkcs11:token=$TOKEN;object=intermediate-ca" \
		--issuer-cert "$D/ca/intermediate.pem" --subject "/O=signerd demo/CN=signerd demo OCSP responder" \
		--days 825 --out "$D/ca/ocsp-responder.pem"
	chmod 644 "$D/ca/ocsp-responder.pem"
}

# A state made before revocation was published: the responder's key and
# certificate, its [ca] lines, the public listener and the profiles' URLs.
upgrade_revocation() {
	local type
	if [ ! -s "$D/ca/ocsp-responder.pem" ]; then
		type=$(ca_key_type)
		# A key left by an interrupted upgrade is certified as it is.
		if "$BUILD/signerctl" -c "$CONF" hsm keys 2>/dev/null | grep -q '^ocsp-responder[[:space:]]'; then
			ctl ocsp-responder --key "$OCSP_KEY" --issuer-key "pkcs11:token=$TOKEN;object=intermediate-ca" \
				--issuer-cert "$D/ca/intermediate.pem" \
				--subject "/O=signerd demo/CN=signerd demo OCSP responder" --days 825 \
				--out "$D/ca/ocsp-responder.pem"
			chmod 644 "$D/ca/ocsp-responder.pem"
		else
			ocsp_responder "$type"
		fi
		echo "demo: made the OCSP responder's key and certificate ($D/ca/ocsp-responder.pem)"
	fi
	grep -q '^ocsp_key' "$CONF" && return 0
	# The config stays as private as it was (signerd refuses one others can read).
	local tmp="$CONF.new"
	awk -v ca="$(ca_revocation)" -v api="$(api_public)" -v urls="$(profile_urls)" '
		{ print }
		/^\[/ { section = $0 }
		section == "[ca]" && /^chain = / { print ca }
		section == "[api]" && /^port = / && api != "" { print api }
		/^\[profile (server|client)\]$/ && urls != "" { print urls }
	' "$CONF" >"$tmp" && chmod --reference="$CONF" "$tmp" && mv "$tmp" "$CONF"
	echo "demo: added the OCSP responder, the public listener on port $PUBLIC_PORT and the CRL and OCSP URLs to $CONF"
}

# A state made before ACME: the [acme] section, and ACME on profile server.
upgrade_acme() {
	grep -q '^\[acme\]' "$CONF" && return 0
	local tmp="$CONF.new"
	awk -v acme="$(acme_section)" '
		/^\[api\]$/ { print acme; print "" }
		{ print }
		/^\[/ { section = $0 }
		section == "[profile server]" && /^wildcards = / { print "acme = true" }
	' "$CONF" >"$tmp" && chmod --reference="$CONF" "$tmp" && mv "$tmp" "$CONF"
	echo "demo: added [acme] and ACME on profile server to $CONF"
}

# A state made when the checkpoint file sat beside the journal: it moves to outside/, with the notes it holds.
upgrade_checkpoints() {
	grep -q '^checkpoint_file = checkpoints.txt$' "$CONF" || return 0
	mkdir -p "$D/outside"
	[ ! -f "$D/checkpoints.txt" ] || mv "$D/checkpoints.txt" "$D/outside/checkpoints.txt"
	local tmp="$CONF.new"
	sed 's|^checkpoint_file = checkpoints.txt$|checkpoint_file = outside/checkpoints.txt|' "$CONF" >"$tmp" &&
		chmod --reference="$CONF" "$tmp" && mv "$tmp" "$CONF"
	echo "demo: checkpoint_file is now $D/outside/checkpoints.txt (ship it elsewhere)"
}

upgrade() {
	upgrade_checkpoints
	upgrade_process
	upgrade_clients
	upgrade_revocation
	upgrade_acme
}

init() {
	if [ -f "$D/.complete" ]; then
		upgrade
		return 0
	fi
	if [ -n "$(ls -A "$D" 2>/dev/null)" ]; then
		echo "demo: $D exists but is incomplete; remove it to start over" >&2
		exit 1
	fi
	echo "demo: creating state in $D (CA key type $CA_KEY_TYPE)"
	umask 077
	mkdir -p "$D/hsm/tokens" "$D/ca" "$D/tls" "$D/clients" "$D/outside"
	cat >"$D/hsm/softhsm2.conf" <<SOFTHSM
directories.tokendir = $D/hsm/tokens
objectstore.backend = file
log.level = ERROR
slots.removable = false
SOFTHSM
	openssl rand -hex 16 >"$D/hsm/user.pin"
	openssl rand -hex 16 >"$D/hsm/so.pin"
	chmod 600 "$D/hsm/user.pin" "$D/hsm/so.pin"
	write_config

	ctl token init --label "$TOKEN" --so-pin-file "$D/hsm/so.pin"
	ctl keygen --type "$CA_KEY_TYPE" --key "pkcs11:token=$TOKEN;object=root-ca"
	ctl keygen --type "$CA_KEY_TYPE" --key "pkcs11:token=$TOKEN;object=intermediate-ca"
	ctl root --key "pkcs11:token=$TOKEN;object=root-ca" \
		--subject "/O=signerd demo/CN=signerd demo root CA" --days 3650 --out "$D/ca/root.pem"
	ctl intermediate --key "pkcs11:token=$TOKEN;object=intermediate-ca" \
		--issuer-key "pkcs11:token=$TOKEN;object=root-ca" --issuer-cert "$D/ca/root.pem" \
		--subject "/O=signerd demo/CN=signerd demo issuing CA" --days 1825 --path-len 1 \
		--out "$D/ca/intermediate.pem"
	cat "$D/ca/intermediate.pem" "$D/ca/root.pem" >"$D/ca/chain.pem"
	# The journal's checkpoint key: Ed25519, in the HSM, never a CA key.
	ctl keygen --type ed25519 --key "pkcs11:token=$TOKEN;object=audit-key"
	ocsp_responder "$CA_KEY_TYPE"
	ctl audit pubkey >"$D/audit.pem"
	chmod 644 "$D/ca/"*.pem "$D/audit.pem"

	(
		cd "$D/tls"
		tls_ca ca "signerd demo API TLS CA"
		tls_cert server localhost ca "$(printf '%s\n' \
			'basicConstraints=critical,CA:FALSE' 'keyUsage=critical,digitalSignature' \
			'extendedKeyUsage=serverAuth' 'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1')"
		tls_ca client-ca "signerd demo API client CA"
		for who in issuer auditor admin revoker; do
			client_cert "$who"
		done
		rm -f ./*.srl
	)
	write_clients
	touch "$D/.complete"
	echo "demo: ready"
}

# The demo's EAB key for ACME (made once, kept in $D/acme-eab.txt: an EAB key is shown only when made).
acme_eab() {
	[ -s "$D/acme-eab.txt" ] && return 0
	(umask 077 && ctl acme eab add --profile server --dns-suffix example.com >"$D/acme-eab.txt")
}

recipe() {
	local url="https://127.0.0.1:$PORT" kid key audit_sha256 audit_key_id
	kid=$(sed -n 's/^kid: //p' "$D/acme-eab.txt")
	key=$(sed -n 's/^hmac_key: //p' "$D/acme-eab.txt")
	# What an auditor pins: SHA-256 of the audit key's DER SubjectPublicKeyInfo; the key id starts each checkpoint signature.
	audit_sha256=$(ctl audit pubkey --sha256)
	audit_key_id=$(ctl audit pubkey --key-id)
	cat <<RECIPE

signerd demo: $url   (state in $D)
Get a certificate for a fresh key, in another shell:

  cd "\$(mktemp -d)"
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout demo.key \\
    -out demo.csr -subj "/CN=demo.example.com" -addext "subjectAltName=DNS:demo.example.com,IP:127.0.0.1"
  jq -n --rawfile csr demo.csr '{profile: "server", csr: \$csr}' |
    curl -sS --fail-with-body --cacert $D/tls/ca.pem \\
      --cert $D/clients/issuer.pem --key $D/clients/issuer.key \\
      -H 'Content-Type: application/json' --data-binary @- $url/v1/sign >response.json
  jq -r .certificate response.json >demo.pem
  openssl verify -CAfile $D/ca/root.pem -untrusted $D/ca/chain.pem demo.pem
  openssl x509 -in demo.pem -noout -subject -ext subjectAltName -enddate

Then, in the same directory, check it against the CRL (plain HTTP on port $PUBLIC_PORT), revoke it
as the revoker, and see the next CRL and the OCSP responder say so:

  curl -sS --fail $PUBLIC_URL/v1/ca/issuing/crl -o crl.der && openssl crl -inform DER -in crl.der -out crl.pem
  openssl verify -crl_check -CAfile $D/ca/chain.pem -CRLfile crl.pem demo.pem
  jq -n --arg serial "\$(jq -r .serial_number response.json)" '{serial_number: \$serial, reason: "keyCompromise"}' |
    curl -sS --fail-with-body --cacert $D/tls/ca.pem \\
      --cert $D/clients/revoker.pem --key $D/clients/revoker.key \\
      -H 'Content-Type: application/json' --data-binary @- $url/v1/revoke
  echo; sleep 2   # the next CRL is signed [ca] crl_delay (1s) after a revocation
  curl -sS --fail $PUBLIC_URL/v1/ca/issuing/crl -o crl.der && openssl crl -inform DER -in crl.der -out crl.pem
  openssl verify -crl_check -CAfile $D/ca/chain.pem -CRLfile crl.pem demo.pem || echo "refused, as it should be"
  openssl ocsp -issuer $D/ca/intermediate.pem -cert demo.pem -url $PUBLIC_URL/ocsp -CAfile $D/ca/chain.pem -resp_text

With ACME: certbot (Debian's package) gets a certificate for acme.example.com, which the demo's
[acme] hosts map to 127.0.0.1; certbot answers http-01 on port $ACME_HTTP_PORT:

  REQUESTS_CA_BUNDLE=$D/tls/ca.pem certbot certonly --standalone --non-interactive --agree-tos \\
    -m ops@example.com --server $url/acme/server/directory \\
    --eab-kid=$kid --eab-hmac-key=$key \\
    --http-01-port $ACME_HTTP_PORT -d acme.example.com \\
    --config-dir certbot --work-dir certbot --logs-dir certbot
  openssl verify -CAfile $D/ca/root.pem -untrusted $D/ca/chain.pem certbot/live/acme.example.com/cert.pem

Journal: $BUILD/signerctl -c $D/signerd.conf journal list
Audit key: SHA-256 fingerprint $audit_sha256, checkpoint key id $audit_key_id
Audit:   $BUILD/signerctl -c $D/signerd.conf audit verify --pubkey-sha256 $audit_sha256 --checkpoint $D/outside/checkpoints.txt
Checkpoints: $D/outside/checkpoints.txt (one at each start and stop, and each minute with news): ship it elsewhere
Stop with Ctrl-C.

RECIPE
}

case "${1:-run}" in
init) init ;;
run)
	init
	acme_eab
	recipe
	exec "$BUILD/signerd" -c "$CONF" --port "$PORT"
	;;
*) echo "usage: demo.sh init|run" >&2; exit 2 ;;
esac
