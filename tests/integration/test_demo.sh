#!/usr/bin/env bash
# `make run`'s promise: the demo script creates its state, starts signerd,
# and the recipe it prints, pasted as is into a shell, yields a certificate
# that `openssl verify` accepts; the revocation recipe after it, run in the
# same directory, shows that certificate good on the CRL from the public
# port, then revoked on the next CRL and by the OCSP responder. A second
# start reuses the state; an older state gets the OCSP responder.
set -u
. "$(dirname "$0")/lib.sh"

d="$T_TMP/demo"
port=$((20000 + RANDOM % 20000))
DEMO_DIR="$d" PORT=$port BUILD="$BUILD" bash "$here/packaging/demo.sh" run >"$T_TMP/run.out" 2>"$T_TMP/run.err" &
T_PID=$!
for _ in $(seq 1 300); do
	grep -q '"msg":"serving' "$T_TMP/run.err" 2>/dev/null && break
	kill -0 "$T_PID" 2>/dev/null || break
	sleep 0.1
done
if grep -q '"msg":"serving' "$T_TMP/run.err"; then
	t_ok "demo.sh run starts signerd on port $port"
else
	t_fail "demo.sh run starts signerd" "$(tail -n 5 "$T_TMP/run.err")"
fi

# The recipe is the indented block between "in another shell:" and "Then, in the same directory";
# the revocation recipe follows it, up to "Journal:".
sed -n '/in another shell:/,/^Then, in the same directory/p' "$T_TMP/run.out" | sed '1d;$d' >"$T_TMP/recipe.sh"
sed -n '/^as the revoker, and see/,/^Journal:/p' "$T_TMP/run.out" | sed '1d;$d' >"$T_TMP/revoke-recipe.sh"
t_check "the recipe mentions the demo paths" grep -q "$d/clients/issuer.pem" "$T_TMP/recipe.sh"
(cd "$T_TMP" && bash -e "$T_TMP/recipe.sh") >"$T_TMP/recipe.out" 2>&1
t_check "the printed recipe yields a verified certificate" grep -q 'demo.pem: OK' "$T_TMP/recipe.out"
for f in ca/root.pem ca/chain.pem tls/ca.pem clients/issuer.pem clients/issuer.key clients/auditor.pem clients/auditor.key \
	clients/revoker.pem clients/revoker.key signerd.conf; do
	t_check "demo path $f exists" test -s "$d/$f"
done
t_check "the PIN file is mode 0600" test "$(stat -c %a "$d/hsm/user.pin")" = 600
t_check "the client keys are mode 0600" test "$(stat -c %a "$d/clients/issuer.key")" = 600
t_check "the OCSP responder's certificate: OCSPSigning, ocsp-nocheck, issued by the intermediate" bash -c "
	openssl x509 -in '$d/ca/ocsp-responder.pem' -noout -ext extendedKeyUsage | grep -qx '    OCSP Signing' &&
	openssl x509 -in '$d/ca/ocsp-responder.pem' -noout -text | grep -q 'OCSP No Check' &&
	openssl verify -CAfile '$d/ca/root.pem' -untrusted '$d/ca/chain.pem' -purpose ocsphelper '$d/ca/ocsp-responder.pem'"
t_check "the revocation recipe mentions the public port and the revoker" bash -c "
	grep -q 'http://127.0.0.1:$((port + 1))/v1/ca/issuing/crl' '$T_TMP/revoke-recipe.sh' &&
	grep -q '$d/clients/revoker.pem' '$T_TMP/revoke-recipe.sh'"

# The printed revocation sequence, run after the issuance recipe in one directory.
T_DIR=$d
T_URL="https://127.0.0.1:$port"
pub="http://127.0.0.1:$((port + 1))"
w="$T_TMP/work"
mkdir -p "$w"
grep -v 'mktemp -d' "$T_TMP/recipe.sh" >"$w/issue.sh"
# A spiffe-workload certificate (1h) is short-lived (short_lived = 2h): no CRL or OCSP pointer.
t_csr "$T_TMP/svid.csr" ec:P-256 "/CN=web" "URI:spiffe://example.com/ns/demo/sa/web"
t_request "$T_TMP/svid.csr" spiffe-workload >"$T_TMP/svid.json"
if [ "$(t_sign issuer "$T_TMP/svid.json")" = 200 ]; then
	jq -r .certificate "$T_TMP/body" >"$T_TMP/svid.pem"
	t_check "a spiffe-workload certificate has no CRL distribution point and no OCSP URL" bash -c "
		! openssl x509 -in '$T_TMP/svid.pem' -noout -text | grep -Eq 'CRL Distribution|OCSP - URI'"
else
	t_fail "a spiffe-workload certificate is issued" "$(cat "$T_TMP/body")"
fi
if (cd "$w" && bash -e issue.sh) >"$w/issue.out" 2>&1; then
	t_check "a server certificate carries the CRL and OCSP URLs of the public port" bash -c "
		openssl x509 -in '$w/demo.pem' -noout -ext crlDistributionPoints | grep -qF 'URI:$pub/v1/ca/issuing/crl' &&
		openssl x509 -in '$w/demo.pem' -noout -ext authorityInfoAccess | grep -qF 'OCSP - URI:$pub/ocsp'"
else
	t_fail "the issuance recipe runs again" "$(tail -n 3 "$w/issue.out")"
fi
# Each check below needs the public listener; one failure says so when it does not answer.
if ! curl -sS --max-time 10 -o /dev/null "$pub/v1/ca/issuing/crl" 2>"$T_TMP/pub.err"; then
	t_fail "the public listener answers on $pub" "$(cat "$T_TMP/pub.err")"
else
	serial=$(jq -r .serial_number "$w/response.json")
	(cd "$w" && bash -e "$T_TMP/revoke-recipe.sh") >"$w/revoke.out" 2>&1
	t_check "the revocation recipe runs to its end" grep -q 'OCSP Response Status' "$w/revoke.out"
	t_check "before the revocation: openssl verify -crl_check accepts it" \
		test "$(grep -c '^demo.pem: OK' "$w/revoke.out")" = 1
	t_check "the revocation as the revoker: keyCompromise" grep -q '"reason":"keyCompromise"' "$w/revoke.out"
	# [ca] crl_delay = 1s: the next CRL lists the serial within a few seconds.
	listed=no
	for _ in $(seq 1 20); do
		if curl -sS --max-time 5 -o "$w/crl.der" "$pub/v1/ca/issuing/crl" 2>/dev/null &&
			openssl crl -inform DER -in "$w/crl.der" -noout -text 2>/dev/null | grep -qi "Serial Number: $serial\$"; then
			listed=yes
			break
		fi
		sleep 0.5
	done
	t_check "the next CRL lists the serial within 10 s" test "$listed" = yes
	openssl crl -inform DER -in "$w/crl.der" -out "$w/crl.pem" 2>/dev/null
	t_check "after: openssl verify -crl_check fails with \"certificate revoked\"" bash -c "
		! openssl verify -crl_check -CAfile '$d/ca/chain.pem' -CRLfile '$w/crl.pem' '$w/demo.pem' >'$w/v.out' 2>&1 &&
		grep -q 'certificate revoked' '$w/v.out'"
	t_check "the CRL's reason is keyCompromise and its signature verifies" bash -c "
		openssl crl -inform DER -in '$w/crl.der' -noout -text | grep -A4 -i 'Serial Number: $serial\$' | grep -q 'Key Compromise' &&
		openssl crl -inform DER -in '$w/crl.der' -CAfile '$d/ca/chain.pem' -noout 2>&1 | grep -q 'verify OK'"
	t_check "the recipe's openssl ocsp: revoked, keyCompromise" bash -c "
		grep -q '^demo.pem: revoked' '$w/revoke.out' && grep -q 'Reason: keyCompromise' '$w/revoke.out' &&
		grep -q 'Response verify OK' '$w/revoke.out'"
	t_check "openssl ocsp fetches the CRL's state again: revoked" bash -c "
		openssl ocsp -issuer '$d/ca/intermediate.pem' -cert '$w/demo.pem' -url '$pub/ocsp' -CAfile '$d/ca/chain.pem' \
			>'$w/o1.out' 2>&1; grep -q '^$w/demo.pem: revoked' '$w/o1.out'"
	mkdir -p "$w/fresh"
	if (cd "$w/fresh" && bash -e ../issue.sh) >"$w/fresh.out" 2>&1; then
		t_check "a fresh certificate: openssl ocsp says good" bash -c "
			openssl ocsp -issuer '$d/ca/intermediate.pem' -cert '$w/fresh/demo.pem' -url '$pub/ocsp' \
				-CAfile '$d/ca/chain.pem' >'$w/o2.out' 2>&1; grep -q 'demo.pem: good' '$w/o2.out'"
	else
		t_fail "a fresh certificate is issued" "$(tail -n 3 "$w/fresh.out")"
	fi
	t_check "a serial signerd never issued: openssl ocsp says unknown" bash -c "
		openssl ocsp -issuer '$d/ca/intermediate.pem' -serial 0x0badc0ffee0123456789 -url '$pub/ocsp' \
			-CAfile '$d/ca/chain.pem' >'$w/o3.out' 2>&1; grep -q ': unknown' '$w/o3.out'"
fi
t_stop

# The summary's audit key: the fingerprint audit pubkey --sha256 prints, and a verify command pinned to it that passes.
fp=$("$BUILD/signerctl" -c "$d/signerd.conf" audit pubkey --sha256)
t_check "the summary prints the audit key's fingerprint and checkpoint key id" \
	grep -qE "^Audit key: SHA-256 fingerprint $fp, checkpoint key id [0-9a-f]{8}\$" "$T_TMP/run.out"
sed -n 's/^Audit: *//p' "$T_TMP/run.out" >"$T_TMP/audit.sh"
t_check "the printed Audit command pins that key, and the journal verifies" bash -c "
	grep -q -- '--pubkey-sha256 $fp' '$T_TMP/audit.sh' && bash -e '$T_TMP/audit.sh' >'$T_TMP/audit.out' 2>&1 &&
	grep -q 'audit key: SHA-256 $fp (pinned)' '$T_TMP/audit.out'"

# Second run reuses the state: same root certificate, no new token.
cp "$d/ca/ocsp-responder.pem" "$T_TMP/responder-before.pem"
cp "$d/ca/root.pem" "$T_TMP/root-before.pem"
DEMO_DIR="$d" PORT=$port BUILD="$BUILD" bash "$here/packaging/demo.sh" init >"$T_TMP/init2.out" 2>&1
t_check "a second run reuses the state" cmp "$d/ca/root.pem" "$T_TMP/root-before.pem"
t_check "a second run creates nothing" bash -c "! grep -q 'creating state' '$T_TMP/init2.out'"
t_check "a second run leaves the pinned clients as they were" bash -c "! grep -q 'pinned' '$T_TMP/init2.out'"
t_check "a second run keeps the OCSP responder's certificate" cmp "$d/ca/ocsp-responder.pem" "$T_TMP/responder-before.pem"

# A state made before clients were pinned: no revoker, an issuer certificate
# without its SPIFFE ID, [client] sections by CN. init upgrades it, and the
# issuer, with its new certificate, signs again.
sed -i '/^# Pinned by key/,$d' "$d/signerd.conf"
printf '[client issuer]\nroles = issuer\nprofiles = server, client, spiffe-workload\n\n[client admin]\nroles = issuer, admin\nprofiles = subordinate-ca\n\n[client auditor]\nroles = auditor\n' >>"$d/signerd.conf"
rm -f "$d/clients/revoker.pem" "$d/clients/revoker.key"
# ... and no OCSP responder: its certificate, [ca] lines, public listener and profile URLs gone.
rm -f "$d/ca/ocsp-responder.pem"
sed -i '/^# Revocation: CRLs/,/^short_lived/d;/^public_/d;/^crl_url/d;/^ocsp_url/d;/^ca_issuers_url/d' "$d/signerd.conf"
openssl x509 -req -in <(openssl x509 -x509toreq -in "$d/clients/issuer.pem" -signkey "$d/clients/issuer.key" 2>/dev/null) \
	-CA "$d/tls/client-ca.pem" -CAkey "$d/tls/client-ca.key" -set_serial 7 -days 30 -out "$T_TMP/old-issuer.pem" 2>/dev/null &&
	cp "$T_TMP/old-issuer.pem" "$d/clients/issuer.pem"
# ... and its checkpoint file beside the journal.
t_check "the demo's checkpoint file is outside the journal, and holds notes" grep -q '^— ' "$d/outside/checkpoints.txt"
sed -i 's|^checkpoint_file = outside/checkpoints.txt$|checkpoint_file = checkpoints.txt|' "$d/signerd.conf"
mv "$d/outside/checkpoints.txt" "$d/checkpoints.txt" && rmdir "$d/outside"
cp "$d/checkpoints.txt" "$T_TMP/checkpoints-before.txt"
DEMO_DIR="$d" PORT=$port BUILD="$BUILD" bash "$here/packaging/demo.sh" init >"$T_TMP/init3.out" 2>&1
t_check "upgrade: the checkpoint file moves to outside/, its notes with it, and says so" bash -c "
	grep -q 'checkpoint_file is now $d/outside/checkpoints.txt' '$T_TMP/init3.out' &&
	grep -qx 'checkpoint_file = outside/checkpoints.txt' '$d/signerd.conf' &&
	cmp '$d/outside/checkpoints.txt' '$T_TMP/checkpoints-before.txt' && test ! -e '$d/checkpoints.txt'"
t_check "an older state is upgraded, and says so" grep -q 'added client revoker and pinned the demo clients' "$T_TMP/init3.out"
t_check "upgrade: the revoker's certificate" test -s "$d/clients/revoker.pem"
t_check "upgrade: the issuer's new certificate carries its SPIFFE ID" \
	bash -c "openssl x509 -in '$d/clients/issuer.pem' -noout -ext subjectAltName | grep -q 'URI:spiffe://signerd.demo/issuer'"
t_check "upgrade: every client is pinned to its certificate's key" bash -c "
	for who in issuer admin auditor revoker; do
		sed -n \"/^\\[client \$who\\]/,/^\$/p\" '$d/signerd.conf' | grep -qx \"spki_sha256 = \$(openssl x509 -in '$d/clients/'\$who.pem -noout -pubkey |
			openssl pkey -pubin -outform DER | openssl dgst -sha256 -r | cut -d' ' -f1)\" || exit 1
	done"
t_check "upgrade: each [client] section once" test "$(grep -c '^\[client ' "$d/signerd.conf")" = 4
t_check "upgrade: the OCSP responder's certificate again, and says so" bash -c "
	grep -q 'made the OCSP responder' '$T_TMP/init3.out' && test -s '$d/ca/ocsp-responder.pem'"
t_check "upgrade: ocsp_key, the public listener and the URLs in the config, once each" bash -c "
	test \$(grep -c '^ocsp_key = ' '$d/signerd.conf') = 1 && test \$(grep -c '^public_port = $((port + 1))\$' '$d/signerd.conf') = 1 &&
	test \$(grep -c '^crl_url = ' '$d/signerd.conf') = 2"
if t_start "$d"; then
	t_csr "$T_TMP/u.csr" ec:P-256 "/CN=u.example.com" "DNS:u.example.com"
	t_request "$T_TMP/u.csr" server >"$T_TMP/u.json"
	t_check "upgrade: the issuer signs with its new certificate" test "$(t_sign issuer "$T_TMP/u.json")" = 200
	t_check "upgrade: the revoker is known and has no route (403)" test "$(t_sign revoker "$T_TMP/u.json")" = 403
	t_stop
else
	t_fail "upgrade: signerd starts" "$(tail -n 3 "$T_TMP/signerd.log")"
fi
t_done
