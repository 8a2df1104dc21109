#!/usr/bin/env bash
# The shipped profiles end to end, for a P-256 and an RSA-2048 CA: each
# issued certificate verifies with `openssl verify -x509_strict` and the
# matching purpose and with GnuTLS `certtool`, the server and client
# certificates carry a real mutual-TLS handshake (openssl s_server/s_client
# on 127.0.0.1), a subordinate CA issues a leaf that verifies (and its name
# constraints bite), and every policy rule refuses with its status, problem
# type and a detail keyword. Run alone:
# bash tests/integration/test_profiles.sh (BUILD=, CA_TYPES= honoured).
set -u
. "$(dirname "$0")/lib.sh"

DATA="$here/tests/data"

# sign WHO PROFILE CSR [extra jq filter]: POST /v1/sign; status printed, body in $T_TMP/body.
sign() {
	local who=$1 profile=$2 csr=$3 filter=${4:-.}
	jq -n --rawfile csr "$csr" --arg p "$profile" '{profile: $p, csr: $csr}' | jq "$filter" >"$T_TMP/req.json"
	t_sign "$who" "$T_TMP/req.json"
}

# issued LABEL WHO PROFILE CSR OUT [filter]: expect 200 and write the certificate to OUT.
issued() {
	local label=$1 who=$2 profile=$3 csr=$4 out=$5 filter=${6:-.} status
	status=$(sign "$who" "$profile" "$csr" "$filter")
	if [ "$status" = 200 ]; then
		jq -r .certificate "$T_TMP/body" >"$out"
		t_ok "$label: issued"
		return 0
	fi
	t_fail "$label: issued" "status $status: $(head -c 300 "$T_TMP/body")"
	return 1
}

# refused LABEL STATUS TYPE KEYWORD WHO PROFILE CSR [filter]
refused() {
	local label=$1 want_status=$2 want_type=$3 keyword=$4 status type detail
	shift 4
	status=$(sign "$@")
	type=$(t_problem_type)
	detail=$(jq -r '.detail // empty' "$T_TMP/body" 2>/dev/null)
	if [ "$status" = "$want_status" ] && [ "$type" = "urn:signerd:problem:$want_type" ] &&
		[[ "$detail" == *"$keyword"* ]]; then
		t_ok "refused: $label ($status $want_type: $keyword)"
	else
		t_fail "refused: $label" "want $want_status $want_type '$keyword'; got $status '$type' '$detail'"
	fi
}

# verify_both LABEL PURPOSE CERT [CHAIN]: openssl -x509_strict with the purpose, certtool chain and purpose.
verify_both() {
	local label=$1 purpose=$2 cert=$3 chain=${4:-$T_DIR/ca/chain.pem} oid
	t_check "$label: openssl verify -x509_strict -purpose $purpose" \
		openssl verify -x509_strict -purpose "$purpose" -CAfile "$T_DIR/ca/root.pem" -untrusted "$chain" "$cert"
	cat "$cert" "$chain" >"$T_TMP/full.pem"
	t_check "$label: certtool --verify-chain" \
		bash -c "certtool --verify-chain --infile '$T_TMP/full.pem' 2>&1 | grep -q 'Chain verification output: Verified. The certificate is trusted'"
	case "$purpose" in
	sslserver) oid=1.3.6.1.5.5.7.3.1 ;;
	sslclient) oid=1.3.6.1.5.5.7.3.2 ;;
	*) oid= ;;
	esac
	t_check "$label: certtool --verify with the root${oid:+ and purpose $oid}" \
		bash -c "certtool --verify --load-ca-certificate '$T_DIR/ca/root.pem' ${oid:+--verify-purpose $oid} \
			--infile '$T_TMP/full.pem' 2>&1 | grep -q 'Chain verification output: Verified'"
}

# A real mutual-TLS handshake with the issued server and client certificates.
handshake() {
	local label=$1 port pid i ok=1
	sed -n '1,/END CERTIFICATE/p' "$T_DIR/ca/chain.pem" >"$T_TMP/intermediate.pem"
	for i in 1 2 3 4 5; do
		port=$((20000 + RANDOM % 20000))
		timeout 30 openssl s_server -accept "127.0.0.1:$port" -naccept 1 -cert "$T_TMP/server.pem" \
			-key "$T_TMP/server.csr.key" -cert_chain "$T_TMP/intermediate.pem" -CAfile "$T_DIR/ca/root.pem" \
			-Verify 2 -verify_return_error -x509_strict -purpose sslclient -www >"$T_TMP/s_server.log" 2>&1 &
		pid=$!
		for _ in $(seq 1 50); do
			grep -q ACCEPT "$T_TMP/s_server.log" 2>/dev/null && break
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		grep -q ACCEPT "$T_TMP/s_server.log" && break
		kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
	done
	printf 'GET / HTTP/1.0\r\n\r\n' | timeout 30 openssl s_client -connect "127.0.0.1:$port" -servername localhost \
		-verify_hostname localhost -CAfile "$T_DIR/ca/root.pem" -verify_return_error -x509_strict \
		-cert "$T_TMP/client.pem" -key "$T_TMP/client.csr.key" -cert_chain "$T_TMP/intermediate.pem" \
		>"$T_TMP/s_client.log" 2>&1 || ok=0
	# s_server serves one connection and prints its statistics on exit: let it finish.
	for _ in $(seq 1 100); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
	if [ "$ok" = 1 ] && grep -q 'Verify return code: 0 (ok)' "$T_TMP/s_client.log" &&
		grep -q 'depth=0 CN = svc.example.com' "$T_TMP/s_server.log" && grep -q '1 server accepts that finished' "$T_TMP/s_server.log"; then
		t_ok "$label: mutual TLS handshake with the issued server and client certificates"
	else
		t_fail "$label: mutual TLS handshake" "$(tail -n 5 "$T_TMP/s_client.log") / $(tail -n 3 "$T_TMP/s_server.log")"
	fi
}

run_ca() {
	local ca_type=$1 d="$T_TMP/demo-$1" n
	echo "# CA key type $ca_type"
	if ! t_demo "$d" "$ca_type"; then t_fail "$ca_type: demo state created"; return; fi
	if ! t_start "$d"; then t_fail "$ca_type: signerd started"; return; fi

	# server: P-256 leaf for localhost; client: RSA-2048 leaf, clientAuth.
	t_csr "$T_TMP/server.csr" ec:P-256 "/CN=localhost" "DNS:localhost,IP:127.0.0.1"
	if issued "$ca_type server" issuer server "$T_TMP/server.csr" "$T_TMP/server.pem"; then
		verify_both "$ca_type server" sslserver "$T_TMP/server.pem"
		openssl x509 -in "$T_TMP/server.pem" -noout -text >"$T_TMP/server.txt"
		t_check "$ca_type server: EC key: keyUsage digitalSignature only" \
			bash -c "grep -A1 'Key Usage: critical' '$T_TMP/server.txt' | grep -qx ' *Digital Signature'"
		t_check "$ca_type server: not a client certificate" \
			bash -c "! openssl verify -purpose sslclient -CAfile '$T_DIR/ca/root.pem' -untrusted '$T_DIR/ca/chain.pem' '$T_TMP/server.pem' >/dev/null 2>&1"
	fi
	t_csr "$T_TMP/client.csr" rsa:2048 "/CN=svc.example.com" "DNS:svc.example.com,email:ops@example.com"
	if issued "$ca_type client" issuer client "$T_TMP/client.csr" "$T_TMP/client.pem"; then
		verify_both "$ca_type client" sslclient "$T_TMP/client.pem"
		t_check "$ca_type client: e-mail SAN" bash -c "openssl x509 -in '$T_TMP/client.pem' -noout -ext subjectAltName | grep -q 'email:ops@example.com'"
	fi
	[ -s "$T_TMP/server.pem" ] && [ -s "$T_TMP/client.pem" ] && handshake "$ca_type"

	# spiffe-workload: one URI SAN, empty subject, client and server auth.
	t_csr "$T_TMP/svid.csr" ec:P-256 "/CN=web" "URI:spiffe://example.com/ns/prod/sa/web"
	if issued "$ca_type spiffe-workload" issuer spiffe-workload "$T_TMP/svid.csr" "$T_TMP/svid.pem"; then
		verify_both "$ca_type spiffe-workload (client)" sslclient "$T_TMP/svid.pem"
		verify_both "$ca_type spiffe-workload (server)" sslserver "$T_TMP/svid.pem"
		openssl x509 -in "$T_TMP/svid.pem" -noout -text >"$T_TMP/svid.txt"
		t_check "$ca_type spiffe-workload: URI SAN, critical, empty subject" bash -c \
			"grep -q 'Subject Alternative Name: critical' '$T_TMP/svid.txt' && grep -q 'URI:spiffe://example.com/ns/prod/sa/web' '$T_TMP/svid.txt' && grep -qx ' *Subject: *' '$T_TMP/svid.txt'"
	fi
	# SANs from the body replace the CSR's.
	if issued "$ca_type body SANs" issuer server "$T_TMP/server.csr" "$T_TMP/body.pem" \
		'. + {sans: {dns: ["api.example.com"], ip: ["::1"]}}'; then
		t_check "$ca_type body SANs: exactly the body's names" bash -c \
			"openssl x509 -in '$T_TMP/body.pem' -noout -ext subjectAltName | tail -n 1 | grep -qx ' *DNS:api.example.com, IP Address:0:0:0:0:0:0:0:1'"
	fi

	# subordinate-ca, as admin: CA:TRUE, pathLen 0, name constraints; it issues a leaf that verifies.
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T_TMP/sub.key" \
		-out "$T_TMP/sub.csr" -subj "/C=DE/O=signerd demo/OU=team/CN=Team Sub CA" 2>/dev/null
	if issued "$ca_type subordinate-ca" admin subordinate-ca "$T_TMP/sub.csr" "$T_TMP/sub.pem" '. + {ttl: 86400}'; then
		t_check "$ca_type subordinate-ca: openssl verify -x509_strict (CA purpose)" \
			openssl verify -x509_strict -purpose any -CAfile "$T_DIR/ca/root.pem" -untrusted "$T_DIR/ca/chain.pem" "$T_TMP/sub.pem"
		cat "$T_TMP/sub.pem" "$T_DIR/ca/chain.pem" >"$T_TMP/full.pem"
		t_check "$ca_type subordinate-ca: certtool --verify-chain" \
			bash -c "certtool --verify-chain --infile '$T_TMP/full.pem' 2>&1 | grep -q 'Chain verification output: Verified. The certificate is trusted'"
		openssl x509 -in "$T_TMP/sub.pem" -noout -text >"$T_TMP/sub.txt"
		t_check "$ca_type subordinate-ca: CA:TRUE, pathlen:0, keyCertSign, name constraints, subject" bash -c \
			"grep -q 'CA:TRUE, pathlen:0' '$T_TMP/sub.txt' && grep -q 'Certificate Sign, CRL Sign' '$T_TMP/sub.txt' && grep -q 'Name Constraints: critical' '$T_TMP/sub.txt' && grep -q 'DNS:example.com' '$T_TMP/sub.txt' && grep -q 'CN *= *Team Sub CA' '$T_TMP/sub.txt'"
		cat "$T_TMP/sub.pem" "$T_DIR/ca/chain.pem" >"$T_TMP/subchain.pem"
		for n in www.example.com www.evil.org; do
			openssl req -new -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T_TMP/leaf.key" \
				-CA "$T_TMP/sub.pem" -CAkey "$T_TMP/sub.key" -days 1 -subj "/CN=$n" -addext "subjectAltName=DNS:$n" \
				-addext "basicConstraints=critical,CA:FALSE" -addext "keyUsage=critical,digitalSignature" \
				-addext "extendedKeyUsage=serverAuth" -out "$T_TMP/leaf-$n.pem" 2>/dev/null
		done
		t_check "$ca_type subordinate-ca: its leaf for www.example.com verifies (root, intermediate, sub-CA)" \
			openssl verify -x509_strict -purpose sslserver -CAfile "$T_DIR/ca/root.pem" -untrusted "$T_TMP/subchain.pem" "$T_TMP/leaf-www.example.com.pem"
		t_check "$ca_type subordinate-ca: its leaf for www.evil.org breaks the name constraints" bash -c \
			"openssl verify -purpose sslserver -CAfile '$T_DIR/ca/root.pem' -untrusted '$T_TMP/subchain.pem' '$T_TMP/leaf-www.evil.org.pem' 2>&1 | grep -q 'permitted subtree violation'"
	fi

	# Refusals, one per rule.
	refused "issuer may not use subordinate-ca" 403 forbidden 'may not use profile "subordinate-ca"' issuer subordinate-ca "$T_TMP/sub.csr"
	refused "admin may not use server" 403 forbidden 'may not use profile "server"' admin server "$T_TMP/server.csr"
	t_csr "$T_TMP/wild.csr" ec:P-256 "/CN=x" "DNS:*.example.com"
	refused "wildcard in server" 400 name-refused "wildcards = false" issuer server "$T_TMP/wild.csr"
	t_csr "$T_TMP/idna.csr" ec:P-256 "/CN=x" "DNS:xn--zz.example.com"
	refused "an xn-- label that is no IDNA2008 A-label" 400 name-refused "is not a valid IDNA2008 A-label" issuer server "$T_TMP/idna.csr"
	t_csr "$T_TMP/uri.csr" ec:P-256 "/CN=x" "DNS:a.example.com,URI:https://example.com/x"
	refused "URI in server" 400 name-refused "uri_prefixes of profile server" issuer server "$T_TMP/uri.csr"
	refused "DNS name in spiffe-workload" 400 name-refused "not under any DNS suffix of profile spiffe-workload" issuer spiffe-workload "$T_TMP/server.csr"
	t_csr "$T_TMP/td.csr" ec:P-256 "/CN=x" "URI:spiffe://example.org/web"
	refused "SPIFFE ID of another trust domain" 400 name-refused "not in trust domain example.com" issuer spiffe-workload "$T_TMP/td.csr"
	t_csr "$T_TMP/td2.csr" ec:P-256 "/CN=x" "URI:spiffe://example.com/a/../b"
	refused "SPIFFE ID with a dot segment" 400 name-refused "path segment" issuer spiffe-workload "$T_TMP/td2.csr"
	t_csr "$T_TMP/td3.csr" ec:P-256 "/CN=x" "URI:spiffe://example.com:8443/web"
	refused "SPIFFE ID with a port" 400 name-refused "a port" issuer spiffe-workload "$T_TMP/td3.csr"
	t_csr "$T_TMP/two.csr" ec:P-256 "/CN=x" "URI:spiffe://example.com/a,URI:spiffe://example.com/b"
	refused "two SPIFFE IDs" 400 name-refused "exactly one URI SAN" issuer spiffe-workload "$T_TMP/two.csr"
	refused "SVID over 24 h" 400 bad-ttl "exceeds the maximum 86400 s" issuer spiffe-workload "$T_TMP/svid.csr" '. + {ttl: 90000}'
	t_csr "$T_TMP/mail.csr" ec:P-256 "/CN=x" "email:ops@example.org"
	refused "e-mail outside email_domains" 400 name-refused "email_domains of profile client" issuer client "$T_TMP/mail.csr"
	refused "body SAN outside the profile" 400 name-refused '"evil.org" is not under any DNS suffix' issuer server "$T_TMP/server.csr" \
		'. + {sans: {dns: ["evil.org"]}}'
	refused "body sans of the wrong shape" 400 bad-request '"sans" must be an object' issuer server "$T_TMP/server.csr" \
		'. + {sans: ["a.example.com"]}'
	openssl req -new -newkey rsa:2048 -nodes -keyout "$T_TMP/sha1.key" -out "$T_TMP/sha1.csr" -sha1 \
		-subj "/CN=a.example.com" -addext "subjectAltName=DNS:a.example.com" 2>/dev/null
	refused "SHA-1 CSR signature" 400 bad-csr-signature "SHA-1 and weaker" issuer server "$T_TMP/sha1.csr"
	openssl req -new -key "$DATA/weak-roca-rsa2048.key" -out "$T_TMP/roca.csr" -subj "/CN=a.example.com" \
		-addext "subjectAltName=DNS:a.example.com" 2>/dev/null
	refused "ROCA key" 400 key-refused "ROCA" issuer server "$T_TMP/roca.csr"
	openssl req -new -key "$DATA/weak-fermat-rsa2048.key" -out "$T_TMP/fermat.csr" -subj "/CN=a.example.com" \
		-addext "subjectAltName=DNS:a.example.com" 2>/dev/null
	refused "Fermat-factorable key" 400 key-refused "Fermat" issuer server "$T_TMP/fermat.csr"
	openssl req -new -newkey ed25519 -nodes -keyout "$T_TMP/subed.key" -out "$T_TMP/subed.csr" \
		-subj "/O=signerd demo/CN=Ed CA" 2>/dev/null
	refused "key type outside key_types" 400 key-refused "key_types = rsa, p256, p384, p521" admin subordinate-ca "$T_TMP/subed.csr"
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T_TMP/nosubj.key" \
		-out "$T_TMP/nosubj.csr" -subj "/emailAddress=ca@example.com" 2>/dev/null
	refused "CA without a subject" 400 name-refused "which need a subject" admin subordinate-ca "$T_TMP/nosubj.csr"
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T_TMP/ctl.key" -out "$T_TMP/ctl.csr" \
		-subj "/O=a$(printf '\001')b/CN=a.example.com" -addext "subjectAltName=DNS:a.example.com" 2>/dev/null
	refused "control character in the subject" 400 name-refused "a control character" issuer server "$T_TMP/ctl.csr"
	t_stop

	# A key blocklist: the server key's SPKI hash listed, loaded at start.
	openssl pkey -in "$T_TMP/server.csr.key" -pubout -outform DER 2>/dev/null | sha256sum | cut -d' ' -f1 >"$d/blocklist.txt"
	sed -i 's|^chain = ca/chain.pem|chain = ca/chain.pem\nkey_blocklist = blocklist.txt|' "$d/signerd.conf"
	if t_start "$d"; then
		refused "key on the blocklist" 400 key-refused "key blocklist" issuer server "$T_TMP/server.csr"
		t_check "$ca_type: other keys still issued with a blocklist" test "$(sign issuer client "$T_TMP/client.csr")" = 200
		t_stop
	else
		t_fail "$ca_type: signerd starts with a blocklist"
	fi
	rm -f "$T_TMP/server.pem" "$T_TMP/client.pem"
}

for ca in ${CA_TYPES:-p256 rsa2048}; do
	run_ca "$ca"
done
t_done
