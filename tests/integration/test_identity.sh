#!/usr/bin/env bash
# Client identities (README, "Client identities"), attacked: certificates the
# demo's client CA issues to someone else, with a pinned client's CN or names,
# are nobody (403); SAN-pinned clients; two clients matching one certificate
# (403, ambiguous); [api] require_client_auth_eku; [api] client_crl. The
# attackers connect from 127.0.0.2.
source "$(dirname "$0")/lib.sh"

d=$T_TMP/demo
if ! t_demo "$d" p256; then t_fail "demo state created"; t_done; exit; fi
m=$T_TMP/mint
mkdir -p "$m"
ATTACKER=(--interface 127.0.0.2)
REC="/v1/audit/records?from=1&limit=1"	# an auditor route that answers 200 from the start

# mint NAME KEY SUBJECT SERIAL [EXT...]: a certificate from the demo's client CA
# for key KEY ("new": a fresh P-256 key), in $m/NAME.pem and .key.
mint() {
	local name=$1 key=$2 subj=$3 serial=$4
	shift 4
	if [ "$key" = new ]; then
		openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$m/$name.key" 2>/dev/null
	else
		cp "$key" "$m/$name.key"
	fi
	openssl req -new -key "$m/$name.key" -subj "$subj" -out "$m/$name.csr" 2>/dev/null &&
		openssl x509 -req -in "$m/$name.csr" -CA "$d/tls/client-ca.pem" -CAkey "$d/tls/client-ca.key" \
			-set_serial "$serial" -days 30 -sha256 -out "$m/$name.pem" \
			-extfile <(printf '%s\n' 'basicConstraints=critical,CA:FALSE' "$@") 2>"$m/$name.err"
}
CLIENT_AUTH='extendedKeyUsage=clientAuth'

# stop WHAT: stop signerd; a clean exit (also: no sanitizer report in an ASan build).
stop() {
	t_stop
	t_check "signerd ($1) stopped cleanly" test "$T_RC" = 0
}

# as NAME METHOD-PATH [curl args]: GET PATH (or POST /v1/sign when PATH is "sign") with $m/NAME; status printed.
as() {
	local who=$1 path=$2
	shift 2
	if [ "$path" = sign ]; then
		t_sign "$m/$who" "$T_TMP/a.json" "$@"
	else
		t_curl "$T_TMP/body" --cert "$m/$who.pem" --key "$m/$who.key" "$@" "$T_URL$path"
	fi
}
# expect NAME WHAT STATUS [DETAIL]: the status and, for a refusal, the problem type and a detail substring.
expect() {
	local name=$1 got=$2 want=$3 detail=${4:-} type=
	case "$want" in 401) type=unauthenticated ;; 403) type=forbidden ;; esac
	if [ "$got" != "$want" ]; then
		t_fail "$name" "status $got, want $want: $(head -c 300 "$T_TMP/body" 2>/dev/null)"
	elif [ -n "$type" ] && [ "$(t_problem_type)" != "urn:signerd:problem:$type" ]; then
		t_fail "$name" "type $(t_problem_type), want $type"
	elif [ -n "$detail" ] && ! jq -r .detail "$T_TMP/body" | grep -qF -- "$detail"; then
		t_fail "$name" "detail \"$(jq -r .detail "$T_TMP/body")\" lacks \"$detail\""
	else
		t_ok "$name"
	fi
}

# --- the certificates ---
spiffe=spiffe://signerd.demo/issuer
ok=0
mint thief-issuer new "/O=signerd demo/CN=issuer" 101 "$CLIENT_AUTH" &&
	mint thief-issuer-san new "/O=signerd demo/CN=issuer" 102 "$CLIENT_AUTH" "subjectAltName=URI:$spiffe" &&
	mint thief-auditor new "/O=signerd demo/CN=auditor" 103 "$CLIENT_AUTH" &&
	mint thief-noncn new "/O=signerd demo" 104 "$CLIENT_AUTH" &&
	mint issuer-nosan "$d/clients/issuer.key" "/O=signerd demo/CN=issuer" 105 "$CLIENT_AUTH" &&
	mint issuer-again "$d/clients/issuer.key" "/O=signerd demo/CN=someone else" 106 "$CLIENT_AUTH" \
		"subjectAltName=URI:$spiffe" &&
	mint svc new "/O=signerd demo" 107 "$CLIENT_AUTH" "subjectAltName=URI:spiffe://signerd.demo/svc,DNS:Svc.Example.COM" &&
	mint svc-uri-only new "/O=signerd demo/CN=svc" 108 "$CLIENT_AUTH" "subjectAltName=URI:spiffe://signerd.demo/svc" &&
	mint svc-prefix new "/O=signerd demo" 109 "$CLIENT_AUTH" \
		"subjectAltName=URI:spiffe://signerd.demo/svc/x,DNS:svc.example.com" &&
	mint twin new "/O=signerd demo/CN=twin" 110 "$CLIENT_AUTH" &&
	mint auditor-noeku "$d/clients/auditor.key" "/O=signerd demo/CN=auditor" 111 &&
	mint auditor-revoked "$d/clients/auditor.key" "/O=signerd demo/CN=auditor" 112 "$CLIENT_AUTH" &&
	cp "$d/clients/auditor.pem" "$d/clients/auditor.key" "$m/" &&
	cp "$d/clients/issuer.pem" "$d/clients/issuer.key" "$m/" && ok=1
t_check "client certificates minted from the demo client CA" test "$ok" = 1

pin() { openssl x509 -in "$1" -noout -pubkey | openssl pkey -pubin -outform DER | openssl dgst -sha256 -r | cut -d' ' -f1; }
# SAN-pinned clients (no CN consulted), and two clients one certificate matches.
cat >>"$d/signerd.conf" <<CONF

[client svc]
san = URI:spiffe://signerd.demo/svc, DNS:svc.example.com
roles = auditor

[client by-cn]
subject_cn = twin
roles = auditor

[client by-key]
spki_sha256 = $(pin "$m/twin.pem" | tr a-f A-F)
roles = auditor
CONF

t_csr "$T_TMP/a.csr" ec:P-256 "/CN=a.example.com" "DNS:a.example.com"
t_request "$T_TMP/a.csr" server >"$T_TMP/a.json"
if ! t_start "$d"; then t_fail "signerd starts" "$(tail -n 3 "$T_TMP/signerd.log")"; t_done; exit; fi

# --- re-issued certificates with a pinned client's CN or names ---
expect "the demo issuer (pinned by key and SPIFFE ID) signs" "$(as issuer sign)" 200
expect "attack: another key with the issuer's CN is nobody" "$(as thief-issuer sign "${ATTACKER[@]}")" 403 \
	"no client is configured for this certificate"
expect "attack: another key with the issuer's CN and SPIFFE ID is nobody" \
	"$(as thief-issuer-san sign "${ATTACKER[@]}")" 403 "no client is configured"
expect "attack: another key with the auditor's CN reads no journal" \
	"$(as thief-auditor "$REC" "${ATTACKER[@]}")" 403 "no client is configured"
expect "attack: a certificate without a CN is nobody" "$(as thief-noncn "$REC" "${ATTACKER[@]}")" 403 "(no CN;"
t_check "the log names the attacker's CN and source, and no client" \
	bash -c "jq -e 'select(.path == \"/v1/sign\" and .client == \"-\" and .status == 403 and .source == \"127.0.0.2\" and .cn == \"issuer\" and (.error | startswith(\"forbidden: no client\")))' '$T_TMP/signerd.log' | grep -q ."
expect "the issuer's key without its SPIFFE ID is not the issuer (every selector must match)" \
	"$(as issuer-nosan sign)" 403 "no client is configured"
expect "the issuer's key and SPIFFE ID under another CN is the issuer (its CN is not consulted)" \
	"$(as issuer-again sign)" 200
t_check "the log names the client matched and the certificate's own CN" \
	bash -c "jq -e 'select(.path == \"/v1/sign\" and .client == \"issuer\" and .status == 200 and has(\"serial\") and .cn == \"someone else\")' '$T_TMP/signerd.log' | grep -q ."

# --- SAN-pinned clients ---
expect "a certificate with both of svc's names and no CN is svc" "$(as svc "$REC")" 200
expect "svc's URI alone is not svc" "$(as svc-uri-only "$REC" "${ATTACKER[@]}")" 403
expect "a longer URI under svc's is not svc's URI" "$(as svc-prefix "$REC" "${ATTACKER[@]}")" 403

# --- one certificate, two clients ---
expect "a certificate that two clients match is refused as ambiguous" "$(as twin "$REC")" 403 \
	'matches both client "by-cn" and client "by-key": ambiguous'

# --- extendedKeyUsage ---
expect "without extendedKeyUsage, by default: accepted" "$(as auditor-noeku "$REC")" 200
stop "pins, SANs, ambiguity"
sed -i 's|^client_ca = .*|&\nrequire_client_auth_eku = true|' "$d/signerd.conf"
if ! t_start "$d"; then t_fail "signerd starts with require_client_auth_eku" "$(tail -n 3 "$T_TMP/signerd.log")"; t_done; exit; fi
expect "require_client_auth_eku = true: without extendedKeyUsage, 401" \
	"$(as auditor-noeku "$REC" "${ATTACKER[@]}")" 401 "has no extendedKeyUsage extension"
expect "require_client_auth_eku = true: with clientAuth, 200" "$(as auditor "$REC")" 200
stop "require_client_auth_eku"
sed -i '/^require_client_auth_eku = /d' "$d/signerd.conf"

# --- client CRL ---
# crl NAME TEMPLATE-LINES CA-PREFIX [CERT]: a CRL by CA-PREFIX (.pem/.key) revoking CERT.
crl() {
	local name=$1 tmpl=$2 ca=$3 cert=${4:-}
	printf '%s\n' "$tmpl" >"$m/$name.tmpl"
	certtool --generate-crl --load-ca-privkey "$ca.key" --load-ca-certificate "$ca.pem" \
		${cert:+--load-certificate "$cert"} --template "$m/$name.tmpl" --outfile "$m/$name.crl" \
		>"$m/$name.log" 2>&1
}
# forge IN OUT: the DER CRL IN with one bit of its signature value flipped.
forge() {
	local size b
	cp "$1" "$2"
	size=$(stat -c %s "$2")
	b=$(od -An -tu1 -j $((size - 5)) -N1 "$2" | tr -d ' ')
	printf "\\$(printf %03o $((b ^ 1)))" | dd of="$2" bs=1 seek=$((size - 5)) conv=notrunc 2>/dev/null
}
ok=0
crl fresh "$(printf 'crl_next_update = 7\ncrl_number = 1')" "$d/tls/client-ca" "$m/auditor-revoked.pem" &&
	openssl crl -in "$m/fresh.crl" -outform DER -out "$m/fresh.der" &&
	crl expired "$(printf 'crl_number = 2\ncrl_this_update_date = "2020-01-01 00:00:00"\ncrl_next_update_date = "2020-02-01 00:00:00"')" \
		"$d/tls/client-ca" "$m/auditor-revoked.pem" &&
	crl other "$(printf 'crl_next_update = 7\ncrl_number = 3')" "$d/tls/ca" "$m/auditor-revoked.pem" &&
	forge "$m/fresh.der" "$m/forged.crl" && ok=1
t_check "CRLs made: fresh (PEM and DER), expired, from another CA, forged" test "$ok" = 1
openssl crl -in "$m/fresh.crl" -noout -text | grep -q 'Serial Number: 70' # 112 = 0x70
t_check "the CRL lists the revoked certificate's serial" test $? = 0

# with_crl FILE: [api] client_crl = FILE
with_crl() { sed -i -e '/^client_crl = /d' -e "s|^client_ca = .*|&\nclient_crl = $1|" "$d/signerd.conf"; }
for form in crl der; do
	with_crl "$m/fresh.$form"
	if ! t_start "$d"; then t_fail "signerd starts with a $form CRL" "$(tail -n 3 "$T_TMP/signerd.log")"; continue; fi
	expect "$form CRL: the revoked certificate is refused 401" \
		"$(as auditor-revoked "$REC" "${ATTACKER[@]}")" 401 "client certificate is revoked"
	expect "$form CRL: the same key in another certificate, not revoked, 200" "$(as auditor "$REC")" 200
	stop "$form CRL"
done

with_crl "$m/expired.crl"
if t_start "$d"; then
	t_check "expired CRL: a warning at start" grep -q 'client CRL .*expired.crl is past its nextUpdate' "$T_TMP/signerd.log"
	expect "expired CRL: its revoked certificate is still refused" \
		"$(as auditor-revoked "$REC" "${ATTACKER[@]}")" 401 "revoked"
	expect "expired CRL: another certificate, 200" "$(as auditor "$REC")" 200
	stop "expired CRL"
else
	t_fail "signerd starts with an expired CRL" "$(tail -n 3 "$T_TMP/signerd.log")"
fi

# refused_crl NAME FILE DETAIL: signerd does not start, and says why, naming the file.
refused_crl() {
	with_crl "$2"
	if t_start "$d" >/dev/null 2>&1; then
		t_fail "$1: signerd refuses to start"
		t_stop
		return
	fi
	t_check "$1: signerd refuses to start, naming the file" grep -qF "client CRL $2: $3" "$T_TMP/signerd.log"
}
refused_crl "CRL from another CA" "$m/other.crl" "not issued by a certificate of the client CA"
refused_crl "CRL with a forged signature" "$m/forged.crl" "its signature does not verify with the client CA"
printf 'garbage\n' >"$m/junk.crl"
refused_crl "unparsable CRL" "$m/junk.crl" "neither a PEM nor a DER CRL"
t_done
