#!/usr/bin/env bash
# End to end: a demo CA in a SoftHSM token, a real signerd on loopback,
# mutual TLS with curl, certificates verified with openssl, the journal
# checked with signerctl. Run alone: make integration (or
# bash tests/run-all.sh integration test_issue).
set -u
. "$(dirname "$0")/lib.sh"

# Issue a certificate for CSR $2 (key spec $3) and check everything about it.
issue_ok() {
	local label=$1 csr=$2 status serial seq
	t_request "$csr" >"$T_TMP/req.json"
	status=$(t_sign issuer "$T_TMP/req.json")
	if [ "$status" != 200 ]; then
		t_fail "$label: issued" "status $status: $(cat "$T_TMP/body")"; return
	fi
	t_ok "$label: issued"
	jq -r .certificate "$T_TMP/body" >"$T_TMP/leaf.pem"
	jq -j '.ca_chain[]' "$T_TMP/body" >"$T_TMP/resp-chain.pem"
	t_check "$label: openssl verify with root and intermediate" \
		openssl verify -x509_strict -purpose sslserver -CAfile "$T_DIR/ca/root.pem" -untrusted "$T_DIR/ca/chain.pem" "$T_TMP/leaf.pem"
	t_check "$label: ca_chain in the answer is the configured chain" cmp "$T_TMP/resp-chain.pem" "$T_DIR/ca/chain.pem"
	serial=$(jq -r .serial_number "$T_TMP/body")
	seq=$(jq -r .journal_seq "$T_TMP/body")
	t_check "$label: serial matches the certificate" \
		test "$(openssl x509 -in "$T_TMP/leaf.pem" -noout -serial | cut -d= -f2 | tr A-F a-f)" = "$serial"
	t_check "$label: serial has at least 128 bits" test "${#serial}" -ge 32
	# journal_seq: the intent, durable before release ([journal] result = next-commit), with the whole TBS.
	"$BUILD/signerctl" -c "$T_DIR/signerd.conf" audit show "$seq" >"$T_TMP/show.txt" 2>&1
	t_check "$label: journal record $seq is the intent of the serial" \
		bash -c "grep -q '^type *intent-tbs' '$T_TMP/show.txt' && grep -qx 'serial *$serial' '$T_TMP/show.txt'"
	t_check "$label: journal record holds the client identity" grep -q 'CN=issuer' "$T_TMP/show.txt"
	t_check "$label: journal list shows its result" \
		bash -c "'$BUILD/signerctl' -c '$T_DIR/signerd.conf' journal list | awk -F'\t' '\$5 == \"$serial\"' | grep -q 'CN=issuer'"
	openssl x509 -in "$T_TMP/leaf.pem" -noout -text >"$T_TMP/leaf.txt"
	t_check "$label: SAN from the CSR" grep -q 'DNS:svc.example.com' "$T_TMP/leaf.txt"
	t_check "$label: CA:FALSE" grep -q 'CA:FALSE' "$T_TMP/leaf.txt"
	t_check "$label: serverAuth EKU" grep -q 'TLS Web Server Authentication' "$T_TMP/leaf.txt"
	t_check "$label: SKI and AKI" bash -c "grep -q 'Subject Key Identifier' '$T_TMP/leaf.txt' && grep -q 'Authority Key Identifier' '$T_TMP/leaf.txt'"
	t_check "$label: the CSR's extra subject attribute was not copied" bash -c "! grep -q 'OU *= *smuggled' '$T_TMP/leaf.txt'"
	t_check "$label: not_after matches the certificate" \
		test "$(date -u -d "$(openssl x509 -in "$T_TMP/leaf.pem" -noout -enddate | cut -d= -f2)" +%Y-%m-%dT%H:%M:%SZ)" = "$(jq -r .not_after "$T_TMP/body")"
}

# Expect a refusal with status $2 and problem type suffix $3, and no new journal record.
refused() {
	local label=$1 want_status=$2 want_type=$3 status before after type ctype
	shift 3
	before=$(t_journal_count)
	status=$("$@")
	after=$(t_journal_count)
	type=$(t_problem_type)
	if [ "$status" = "$want_status" ] && [ "$type" = "urn:signerd:problem:$want_type" ] &&
		[ "$before" = "$after" ] && [ -n "$(jq -r '.detail // empty' "$T_TMP/body" 2>/dev/null)" ]; then
		t_ok "refused: $label ($status $want_type)"
	else
		t_fail "refused: $label" "want $want_status $want_type; got $status '$type', journal $before -> $after, body $(head -c 300 "$T_TMP/body")"
	fi
}

run_ca() {
	local ca_type=$1 d="$T_TMP/demo-$1"
	echo "# CA key type $ca_type"
	if ! t_demo "$d" "$ca_type"; then t_fail "$ca_type: demo state created"; return; fi
	t_ok "$ca_type: demo state created"
	t_check "$ca_type: CA chain verifies" openssl verify -x509_strict -CAfile "$d/ca/root.pem" "$d/ca/intermediate.pem"
	if ! t_start "$d"; then t_fail "$ca_type: signerd started"; return; fi
	t_ok "$ca_type: signerd started"

	t_check "$ca_type: /healthz is 200" test "$(t_curl "$T_TMP/body" "$T_URL/healthz")" = 200
	t_check "$ca_type: /v1/ca serves the chain" bash -c \
		"test \"\$(curl -sS --cacert '$d/tls/ca.pem' '$T_URL/v1/ca' | grep -c 'BEGIN CERTIFICATE')\" = 2"

	t_csr "$T_TMP/p256.csr" ec:P-256 "/CN=svc.example.com/OU=smuggled" "DNS:svc.example.com,IP:127.0.0.5"
	issue_ok "$ca_type: P-256 leaf" "$T_TMP/p256.csr"
	t_csr "$T_TMP/rsa.csr" rsa:2048 "/CN=svc.example.com" "DNS:svc.example.com,DNS:localhost"
	issue_ok "$ca_type: RSA-2048 leaf" "$T_TMP/rsa.csr"

	# Refusals: each with its status and problem type, none journaled.
	t_request "$T_TMP/p256.csr" >"$T_TMP/good.json"
	refused "no client certificate" 401 unauthenticated t_sign none "$T_TMP/good.json"
	refused "client certificate from another CA" 401 unauthenticated t_sign "$T_TMP/rogue" "$T_TMP/good.json"
	refused "auditor on /v1/sign" 403 forbidden t_sign auditor "$T_TMP/good.json"
	printf '{"profile": "server", "csr": ' >"$T_TMP/bad.json"
	refused "malformed JSON" 400 bad-json t_sign issuer "$T_TMP/bad.json"
	{ printf '{"profile":"server","csr":"'; head -c 200000 /dev/zero | tr '\0' 'A'; printf '"}'; } >"$T_TMP/big.json"
	# A well-behaved client waits for "100 Continue" and so reads the early 413.
	refused "body over the limit" 413 body-too-large t_sign issuer "$T_TMP/big.json" \
		-H 'Expect: 100-continue' --expect100-timeout 30
	jq -n --rawfile csr "$d/ca/root.pem" '{profile: "server", csr: $csr}' >"$T_TMP/cert.json"
	refused "a certificate instead of a CSR" 400 bad-csr t_sign issuer "$T_TMP/cert.json"
	openssl req -in "$T_TMP/rsa.csr" -outform DER -out "$T_TMP/broken.der"
	local len byte
	len=$(stat -c %s "$T_TMP/broken.der")
	byte=$(od -An -tu1 -j $((len - 10)) -N1 "$T_TMP/broken.der" | tr -d ' ')
	printf "$(printf '\\%03o' $(((byte + 1) % 256)))" | dd of="$T_TMP/broken.der" bs=1 seek=$((len - 10)) conv=notrunc 2>/dev/null
	openssl req -inform DER -in "$T_TMP/broken.der" -out "$T_TMP/broken.csr"
	t_request "$T_TMP/broken.csr" >"$T_TMP/broken.json"
	refused "CSR with a broken signature" 400 bad-csr-signature t_sign issuer "$T_TMP/broken.json"
	t_csr "$T_TMP/evil.csr" ec:P-256 "/CN=www.evil.com" "DNS:www.evil.com"
	t_request "$T_TMP/evil.csr" >"$T_TMP/evil.json"
	refused "SAN outside the profile" 400 name-refused t_sign issuer "$T_TMP/evil.json"
	t_csr "$T_TMP/ip.csr" ec:P-256 "/CN=x" "IP:10.1.2.3"
	t_request "$T_TMP/ip.csr" >"$T_TMP/ip.json"
	refused "IP SAN outside the profile" 400 name-refused t_sign issuer "$T_TMP/ip.json"
	t_csr "$T_TMP/rsa1024.csr" rsa:1024 "/CN=svc.example.com" "DNS:svc.example.com"
	t_request "$T_TMP/rsa1024.csr" >"$T_TMP/rsa1024.json"
	refused "RSA-1024 key" 400 key-refused t_sign issuer "$T_TMP/rsa1024.json"
	t_request "$T_TMP/p256.csr" nosuch >"$T_TMP/noprofile.json"
	refused "unknown profile" 400 unknown-profile t_sign issuer "$T_TMP/noprofile.json"
	jq '. + {ttl: 99999999}' "$T_TMP/good.json" >"$T_TMP/ttl.json"
	refused "TTL over the profile maximum" 400 bad-ttl t_sign issuer "$T_TMP/ttl.json"
	T_CONTENT_TYPE=text/plain refused "wrong content type" 415 unsupported-media-type t_sign issuer "$T_TMP/good.json"

	t_check "$ca_type: journal verifies" "$BUILD/signerctl" -c "$d/signerd.conf" journal verify
	t_check "$ca_type: journal holds exactly the two issuances" test "$(t_journal_count)" = 2
	t_stop
	t_check "$ca_type: signerd exits cleanly on SIGTERM" test "$T_RC" = 0
}

# A client identity from a CA that signerd does not trust, with a trusted CN.
(
	cd "$T_TMP"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout rogue-ca.key \
		-out rogue-ca.pem -days 30 -subj "/CN=rogue CA" 2>/dev/null
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout rogue.key \
		-out rogue.csr -subj "/O=signerd demo/CN=issuer" 2>/dev/null
	openssl x509 -req -in rogue.csr -CA rogue-ca.pem -CAkey rogue-ca.key -CAcreateserial -days 30 \
		-extfile <(printf 'extendedKeyUsage=clientAuth\n') -out rogue.pem 2>/dev/null
)

for ca in ${CA_TYPES:-p256 rsa2048}; do
	run_ca "$ca"
done
t_done
