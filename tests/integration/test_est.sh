#!/usr/bin/env bash
# EST (RFC 7030) with curl and openssl as the RFC's examples use them:
# cacerts as PKCS#7, enroll, re-enroll, and every refusal with its status.
source "$(dirname "$0")/lib.sh"

d=$T_TMP/demo
if ! t_demo "$d" p256; then t_fail "demo state created"; t_done; exit; fi
if ! t_start "$d"; then t_fail "signerd starts" "$(tail -n 3 "$T_TMP/signerd.log")"; t_done; exit; fi
est=/.well-known/est

# t_est WHO PATH [BODYFILE [CONTENT-TYPE]] (WHO: a client's name, a /path/prefix of a .pem/.key pair, or none): status printed, body in $T_TMP/body, headers in $T_TMP/hdr.
t_est() {
	local who=$1 path=$2 body=${3:-} ct=${4:-application/pkcs10} id=()
	case "$who" in
	none) ;;
	/*) id=(--cert "$who.pem" --key "$who.key") ;;
	*) id=(--cert "$T_DIR/clients/$who.pem" --key "$T_DIR/clients/$who.key") ;;
	esac
	if [ -n "$body" ]; then
		t_curl "$T_TMP/body" "${id[@]}" -D "$T_TMP/hdr" -H "Content-Type: $ct" --data-binary "@$body" "$T_URL$path"
	else
		t_curl "$T_TMP/body" "${id[@]}" -D "$T_TMP/hdr" "$T_URL$path"
	fi
}
# p7_certs FILE OUT: the certificates of a base64 certs-only PKCS#7, as PEM.
p7_certs() { openssl base64 -d -in "$1" | openssl pkcs7 -inform DER -print_certs -out "$2"; }
# The SHA-256 fingerprints of the certificates of a PEM file, sorted (a PKCS#7 SET OF has DER's order).
fingerprints() {
	local f=$1 n i
	n=$(grep -c 'BEGIN CERTIFICATE' "$f")
	for i in $(seq 1 "$n"); do
		awk -v want="$i" '/BEGIN CERTIFICATE/ { k++ } k == want { print } /END CERTIFICATE/ && k == want { exit }' "$f" |
			openssl x509 -noout -fingerprint -sha256
	done | sort
}

# cacerts, with and without a label: PKCS#7 whose certificates are GET /v1/ca's.
t_check "GET /v1/ca: 200" test "$(t_get none /v1/ca)" = 200
cp "$T_TMP/body" "$T_TMP/chain.pem"
for path in "$est/cacerts" "$est/server/cacerts"; do
	t_check "GET $path without a client certificate: 200" test "$(t_est none "$path")" = 200
	t_check "GET $path: application/pkcs7-mime, base64" \
		bash -c "grep -qi '^content-type: application/pkcs7-mime' '$T_TMP/hdr' && grep -qi '^content-transfer-encoding: base64' '$T_TMP/hdr'"
	cp "$T_TMP/body" "$T_TMP/cacerts.b64"
	t_check "GET $path parses as PKCS#7" p7_certs "$T_TMP/cacerts.b64" "$T_TMP/cacerts.pem"
	fingerprints "$T_TMP/cacerts.pem" >"$T_TMP/cacerts.fp" 2>/dev/null
	fingerprints "$T_TMP/chain.pem" >"$T_TMP/chain.fp"
	t_check "GET $path holds the chain of /v1/ca ($(wc -l <"$T_TMP/chain.fp") certificates)" \
		bash -c "test -s '$T_TMP/chain.fp' && diff -u '$T_TMP/chain.fp' '$T_TMP/cacerts.fp'"
done
got=$(t_est none "$est/nosuch/cacerts")
t_check "GET $est/nosuch/cacerts: 404 not-found" \
	bash -c "test '$got' = 404 && test \"\$(jq -r .type '$T_TMP/body')\" = urn:signerd:problem:not-found"

# simpleenroll: a P-256 CSR, base64 DER as RFC 7030 4.2.1 sends it.
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T_TMP/device.key" \
	-subj "/CN=device.example.com" -addext "subjectAltName=DNS:device.example.com" -outform DER \
	-out "$T_TMP/device.der" 2>/dev/null
openssl base64 -in "$T_TMP/device.der" -out "$T_TMP/device.b64"
t_check "POST $est/server/simpleenroll as issuer: 200" test "$(t_est issuer "$est/server/simpleenroll" "$T_TMP/device.b64")" = 200
t_check "its answer is application/pkcs7-mime; smime-type=certs-only, base64" \
	bash -c "grep -qi '^content-type: application/pkcs7-mime; smime-type=certs-only' '$T_TMP/hdr' && grep -qi '^content-transfer-encoding: base64' '$T_TMP/hdr'"
cp "$T_TMP/body" "$T_TMP/device.p7.b64"
t_check "its answer parses as PKCS#7" p7_certs "$T_TMP/device.p7.b64" "$T_TMP/device.pem"
t_check "it holds one certificate" test "$(grep -c 'BEGIN CERTIFICATE' "$T_TMP/device.pem")" = 1
t_check "the certificate is for the CSR's key" \
	bash -c "test \"\$(openssl x509 -in '$T_TMP/device.pem' -noout -pubkey)\" = \"\$(openssl pkey -in '$T_TMP/device.key' -pubout)\""
t_check "the certificate chains to the demo's root" \
	openssl verify -CAfile "$T_TMP/chain.pem" "$T_TMP/device.pem"
serial=$(openssl x509 -in "$T_TMP/device.pem" -noout -serial | cut -d= -f2 | tr 'A-F' 'a-f')
t_check "the certificate is in the journal (GET /v1/certificates/{serial} as auditor)" \
	bash -c "test \"\$(curl -sS --cacert '$T_DIR/tls/ca.pem' --cert '$T_DIR/clients/auditor.pem' --key '$T_DIR/clients/auditor.key' -o '$T_TMP/cert.json' -w '%{http_code}' '$T_URL/v1/certificates/$serial')\" = 200 && test \"\$(jq -r .profile '$T_TMP/cert.json')\" = server"

# Line breaks anywhere are base64's business, not the CSR's (RFC 2045): 76-column lines, CRLF.
openssl base64 -in "$T_TMP/device.der" | fold -w 76 | sed 's/$/\r/' >"$T_TMP/device-crlf.b64"
t_check "a CRLF-wrapped base64 body: 200" test "$(t_est issuer "$est/server/simpleenroll" "$T_TMP/device-crlf.b64")" = 200

# simplereenroll: a new key, the same subject and names.
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T_TMP/device2.key" \
	-subj "/CN=device.example.com" -addext "subjectAltName=DNS:device.example.com" -outform DER 2>/dev/null |
	openssl base64 >"$T_TMP/device2.b64"
t_check "POST $est/server/simplereenroll as issuer: 200" test "$(t_est issuer "$est/server/simplereenroll" "$T_TMP/device2.b64")" = 200
t_check "its answer parses as PKCS#7, a certificate for the new key" \
	bash -c "openssl base64 -d -in '$T_TMP/body' | openssl pkcs7 -inform DER -print_certs -out '$T_TMP/device2.pem' && test \"\$(openssl x509 -in '$T_TMP/device2.pem' -noout -pubkey)\" = \"\$(openssl pkey -in '$T_TMP/device2.key' -pubout)\""

# simplereenroll by the holder (RFC 7030 4.2.2): the certificate being renewed is the TLS identity.
cp "$T_TMP/device.key" "$T_TMP/holder.key"
cp "$T_TMP/device.pem" "$T_TMP/holder.pem"
holder=$T_TMP/holder
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T_TMP/device3.key" \
	-subj "/CN=device.example.com" -addext "subjectAltName=DNS:device.example.com" -outform DER 2>/dev/null |
	openssl base64 >"$T_TMP/device3.b64"
t_check "POST $est/server/simplereenroll as the holder of the certificate: 200" \
	test "$(t_est "$holder" "$est/server/simplereenroll" "$T_TMP/device3.b64")" = 200
t_check "its answer is a certificate for the new key, with the renewed one's subject and names" \
	bash -c "openssl base64 -d -in '$T_TMP/body' | openssl pkcs7 -inform DER -print_certs -out '$T_TMP/device3.pem' &&
		test \"\$(openssl x509 -in '$T_TMP/device3.pem' -noout -pubkey)\" = \"\$(openssl pkey -in '$T_TMP/device3.key' -pubout)\" &&
		test \"\$(openssl x509 -in '$T_TMP/device3.pem' -noout -subject -ext subjectAltName)\" = \"\$(openssl x509 -in '$T_TMP/holder.pem' -noout -subject -ext subjectAltName)\""
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T_TMP/other.key" \
	-subj "/CN=other.example.com" -addext "subjectAltName=DNS:other.example.com" -outform DER 2>/dev/null |
	openssl base64 >"$T_TMP/other.b64"
got=$(t_est "$holder" "$est/server/simplereenroll" "$T_TMP/other.b64")
t_check "the holder asking for other names: 400 name-refused" \
	bash -c "test '$got' = 400 && test \"\$(jq -r .type '$T_TMP/body')\" = urn:signerd:problem:name-refused"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T_TMP/more.key" \
	-subj "/CN=device.example.com" -addext "subjectAltName=DNS:device.example.com,DNS:more.example.com" \
	-outform DER 2>/dev/null | openssl base64 >"$T_TMP/more.b64"
got=$(t_est "$holder" "$est/server/simplereenroll" "$T_TMP/more.b64")
t_check "the holder adding a name: 400 name-refused" \
	bash -c "test '$got' = 400 && test \"\$(jq -r .type '$T_TMP/body')\" = urn:signerd:problem:name-refused"
got=$(t_est "$holder" "$est/client/simplereenroll" "$T_TMP/device3.b64")
t_check "the holder under another label (profile): 403 forbidden" \
	bash -c "test '$got' = 403 && test \"\$(jq -r .type '$T_TMP/body')\" = urn:signerd:problem:forbidden"
got=$(t_est "$holder" "$est/server/simpleenroll" "$T_TMP/device3.b64")
t_check "the holder on simpleenroll (configured issuers only): 401 unauthenticated" \
	bash -c "test '$got' = 401 && test \"\$(jq -r .type '$T_TMP/body')\" = urn:signerd:problem:unauthenticated"
# A certificate of a CA other than signerd's: no holder.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T_TMP/stranger.key" \
	-subj "/CN=device.example.com" -addext "subjectAltName=DNS:device.example.com" -days 1 \
	-out "$T_TMP/stranger.pem" 2>/dev/null
got=$(t_est "$T_TMP/stranger" "$est/server/simplereenroll" "$T_TMP/device3.b64")
t_check "a self-signed certificate with the same names: 401 unauthenticated" \
	bash -c "test '$got' = 401 && test \"\$(jq -r .type '$T_TMP/body')\" = urn:signerd:problem:unauthenticated"
hserial=$(openssl x509 -in "$T_TMP/holder.pem" -noout -serial | cut -d= -f2 | tr 'A-F' 'a-f')
printf '{"serial_number":"%s","reason":"superseded"}' "$hserial" >"$T_TMP/revoke.json"
t_check "admin revokes the holder's certificate: 200" test "$(t_post admin /v1/revoke "$T_TMP/revoke.json")" = 200
got=$(t_est "$holder" "$est/server/simplereenroll" "$T_TMP/device3.b64")
t_check "the holder of a revoked certificate: 403 forbidden" \
	bash -c "test '$got' = 403 && test \"\$(jq -r .type '$T_TMP/body')\" = urn:signerd:problem:forbidden && jq -r .detail '$T_TMP/body' | grep -q revoked"

# csrattrs: nothing asked for. serverkeygen: refused.
t_check "GET $est/server/csrattrs: 204" test "$(t_est none "$est/server/csrattrs")" = 204
got=$(t_est issuer "$est/server/serverkeygen" "$T_TMP/device.b64")
t_check "POST $est/server/serverkeygen: 501 not-implemented" \
	bash -c "test '$got' = 501 && test \"\$(jq -r .type '$T_TMP/body')\" = urn:signerd:problem:not-implemented"

# Refusals, each with its problem type.
refused() { # NAME WANT TYPE (after t_est)
	t_check "$1: $2 $3" bash -c "test '$got' = '$2' && test \"\$(jq -r .type '$T_TMP/body')\" = 'urn:signerd:problem:$3'"
}
got=$(t_est none "$est/server/simpleenroll" "$T_TMP/device.b64"); refused "simpleenroll without a client certificate" 401 unauthenticated
got=$(t_est none "$est/server/simplereenroll" "$T_TMP/device.b64"); refused "simplereenroll without a client certificate" 401 unauthenticated
got=$(t_est auditor "$est/server/simpleenroll" "$T_TMP/device.b64"); refused "simpleenroll as auditor (no issuer role)" 403 forbidden
got=$(t_est issuer "$est/subordinate-ca/simpleenroll" "$T_TMP/device.b64"); refused "simpleenroll as issuer for a profile it lacks" 403 forbidden
got=$(t_est issuer "$est/nosuch/simpleenroll" "$T_TMP/device.b64"); refused "simpleenroll with an unknown label" 404 not-found
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T_TMP/evil.key" \
	-subj "/CN=www.evil.test" -addext "subjectAltName=DNS:www.evil.test" -outform DER 2>/dev/null |
	openssl base64 >"$T_TMP/evil.b64"
got=$(t_est issuer "$est/server/simpleenroll" "$T_TMP/evil.b64"); refused "simpleenroll for a name outside the profile" 400 name-refused
printf 'this is not base64 at all!\n' >"$T_TMP/garbage"
got=$(t_est issuer "$est/server/simpleenroll" "$T_TMP/garbage"); refused "simpleenroll with a body that is not base64" 400 bad-request
printf 'aGVsbG8gd29ybGQ=\n' >"$T_TMP/hello.b64"
got=$(t_est issuer "$est/server/simpleenroll" "$T_TMP/hello.b64"); refused "simpleenroll with base64 that is not a CSR" 400 bad-request
got=$(t_est issuer "$est/server/simpleenroll" "$T_TMP/device.b64" application/json); refused "simpleenroll as application/json" 415 unsupported-media-type
t_check "no other certificate was journaled by the refusals (4 issued)" \
	bash -c "test \"\$(curl -sS --cacert '$T_DIR/tls/ca.pem' --cert '$T_DIR/clients/auditor.pem' --key '$T_DIR/clients/auditor.key' '$T_URL/v1/certificates?profile=server&limit=50' | jq '.items | length')\" = 4"
got=$(t_est issuer "$est/simpleenroll" "$T_TMP/device.b64"); refused "simpleenroll without a label" 404 not-found

t_stop
t_check "signerd stopped cleanly" test "$T_RC" = 0
t_done
