#!/usr/bin/env bash
# Revocation over mutual TLS against a real signerd: the revoker and admin
# revoke any certificate (keyCompromise, the default unspecified); a repeat
# answers the original time and reason; every bad body is a 400 naming the
# field, certificateHold is refused; an issuer, an auditor and an
# unauthenticated caller cannot revoke a certificate that is not of their
# key (the same 403 for an unknown serial), a holder authenticating with a
# certificate signerd issued revokes its own; the status is "revoked" in
# the inventory and stays so across a restart; signerctl revoke offline;
# the journal verifies.
source "$(dirname "$0")/lib.sh"

d=$T_TMP/demo
if ! t_demo "$d" p256; then t_fail "demo state created"; t_done; exit; fi
if ! t_start "$d"; then t_fail "signerd starts" "$(tail -n 3 "$T_TMP/signerd.log")"; t_done; exit; fi

# issue NAME PROFILE: a certificate for NAME.example.com as issuer; serial in NAME.serial, PEM in NAME.pem, key NAME.csr.key.
issue() {
	t_csr "$T_TMP/$1.csr" ec:P-256 "/CN=$1.example.com" "DNS:$1.example.com"
	t_request "$T_TMP/$1.csr" "$2" >"$T_TMP/$1.json"
	[ "$(t_sign issuer "$T_TMP/$1.json")" = 200 ] || return 1
	jq -r .serial_number "$T_TMP/body" >"$T_TMP/$1.serial"
	jq -r .certificate "$T_TMP/body" >"$T_TMP/$1.pem"
}
ok=0
for n in a b c e; do issue "$n" server && ok=$((ok + 1)); done
issue holder client && ok=$((ok + 1))
t_check "five certificates issued" test "$ok" = 5
sa=$(cat "$T_TMP/a.serial") sb=$(cat "$T_TMP/b.serial") sc=$(cat "$T_TMP/c.serial") se=$(cat "$T_TMP/e.serial")
sh=$(cat "$T_TMP/holder.serial")

# revoke WHO JSON: POST /v1/revoke; status printed, body in $T_TMP/body.
revoke() {
	printf '%s' "$2" >"$T_TMP/revoke.json"
	t_post "$1" /v1/revoke "$T_TMP/revoke.json"
}
t_check "revoker revokes a (keyCompromise): 200" test "$(revoke revoker "{\"serial_number\":\"$sa\",\"reason\":\"keyCompromise\"}")" = 200
t_check "the answer: serial, time, reason, not a repeat" jq -e --arg s "$sa" \
	'.serial_number == $s and .reason == "keyCompromise" and (.revoked_at | test("Z$")) and .already_revoked == false' "$T_TMP/body"
first_at=$(jq -r .revoked_at "$T_TMP/body")
sleep 1
t_check "a repeat (superseded): 200 with the original time and reason" bash -c "test \"\$(
	printf '%s' '{\"serial_number\":\"$sa\",\"reason\":\"superseded\"}' >'$T_TMP/r2.json'
	curl -sS --cacert '$d/tls/ca.pem' --cert '$d/clients/revoker.pem' --key '$d/clients/revoker.key' \
	-H 'Content-Type: application/json' --data-binary @'$T_TMP/r2.json' -o '$T_TMP/r2.body' -w '%{http_code}' '$T_URL/v1/revoke')\" = 200 &&
	jq -e --arg t '$first_at' '.already_revoked == true and .reason == \"keyCompromise\" and .revoked_at == \$t' '$T_TMP/r2.body'"
t_check "upper-case hex names the same certificate (a repeat)" bash -c "test '$(revoke admin "{\"serial_number\":\"${sa^^}\"}")' = 200 &&
	jq -e '.already_revoked == true' '$T_TMP/body'"
t_check "admin revokes c with no reason: 200 unspecified" bash -c "test '$(revoke admin "{\"serial_number\":\"$sc\",\"detail\":\"decommissioned\"}")' = 200 &&
	jq -e '.reason == \"unspecified\"' '$T_TMP/body'"
t_check "GET /v1/certificates/a: status revoked" bash -c "test '$(t_get auditor "/v1/certificates/$sa")' = 200 &&
	jq -e '.status == \"revoked\"' '$T_TMP/body'"
t_check "b is still valid" bash -c "test '$(t_get auditor "/v1/certificates/$sb")' = 200 && jq -e '.status == \"valid\"' '$T_TMP/body'"

# bad BODY NEEDLE: 400 whose detail names the problem.
bad() {
	local code
	code=$(revoke revoker "$1")
	t_check "400 for $1" bash -c "test '$code' = 400 && jq -r .detail '$T_TMP/body' | grep -q -- '$2'" "$(cat "$T_TMP/body")"
}
bad "{\"serial_number\":\"$sb\",\"reason\":\"compromised\"}" "not an RFC 5280 CRLReason"
bad "{\"serial_number\":\"$sb\",\"reason\":\"certificateHold\"}" "final"
bad "{\"serial_number\":\"$sb\",\"reason\":\"removeFromCRL\"}" "final"
bad "{\"serial_number\":\"$sb\",\"reason\":1}" "must be a string"
bad "{\"reason\":\"keyCompromise\"}" "missing field \"serial_number\""
bad "{\"serial_number\":\"xyz\"}" "hex"
bad "{\"serial_number\":\"$(head -c 42 /dev/zero | tr '\0' a)\"}" "longer than 40"
bad "{\"serial_number\":\"$sb\",\"why\":\"x\"}" "unknown field \"why\""
bad "[1]" "JSON object"
bad "{\"serial_number\":\"$sb\",\"detail\":\"$(head -c 600 /dev/zero | tr '\0' d)\"}" "longer than 512"
t_check "an unknown serial as the revoker: 404 not-found" bash -c "test '$(revoke revoker '{"serial_number":"00ff00ff"}')' = 404 &&
	test \"\$(jq -r .type '$T_TMP/body')\" = urn:signerd:problem:not-found"

# Attackers from 127.0.0.2: neither a certificate of another key nor an unknown serial, and the same answer for both.
attack() { # WHO SERIAL -> status
	printf '{"serial_number":"%s","reason":"keyCompromise"}' "$2" >"$T_TMP/attack.json"
	t_curl "$T_TMP/body" --interface 127.0.0.2 ${3:+--cert "$d/clients/$1.pem" --key "$d/clients/$1.key"} \
		-H 'Content-Type: application/json' --data-binary "@$T_TMP/attack.json" "$T_URL/v1/revoke"
}
t_check "the issuer that requested b cannot revoke it (not its key): 403 forbidden" bash -c "test '$(attack issuer "$sb" 1)' = 403 &&
	test \"\$(jq -r .type '$T_TMP/body')\" = urn:signerd:problem:forbidden"
t_check "an unknown serial: the same 403" test "$(attack issuer 00ff00ff 1)" = 403
t_check "the auditor: 403" test "$(attack auditor "$sb" 1)" = 403
t_check "no client certificate: 401" test "$(attack none "$sb")" = 401
t_check "b is still valid after the attacks" bash -c "test '$(t_get auditor "/v1/certificates/$sb")' = 200 &&
	jq -e '.status == \"valid\"' '$T_TMP/body'"
t_stop
t_check "signerd stopped cleanly" test "$T_RC" = 0

# The holder: a client certificate signerd issued, accepted for mutual TLS and pinned by its key.
cat "$d/tls/client-ca.pem" "$d/ca/intermediate.pem" "$d/ca/root.pem" >"$d/tls/clients-and-issued.pem" 2>/dev/null ||
	cat "$d/tls/client-ca.pem" "$d/ca/chain.pem" >"$d/tls/clients-and-issued.pem"
sed -i 's|^client_ca = .*|client_ca = tls/clients-and-issued.pem|' "$d/signerd.conf"
pin=$(openssl pkey -in "$T_TMP/holder.csr.key" -pubout -outform DER | sha256sum | cut -d' ' -f1)
printf '\n[client holder]\nroles = issuer\nprofiles = server\nspki_sha256 = %s\n' "$pin" >>"$d/signerd.conf"
cp "$T_TMP/holder.pem" "$T_TMP/h.pem"; cp "$T_TMP/holder.csr.key" "$T_TMP/h.key"
if ! t_start "$d"; then t_fail "signerd starts with the holder" "$(tail -n 3 "$T_TMP/signerd.log")"; t_done; exit; fi
t_check "a (revoked before the restart) is still revoked" bash -c "test '$(t_get auditor "/v1/certificates/$sa")' = 200 &&
	jq -e '.status == \"revoked\"' '$T_TMP/body'"
t_check "the holder cannot revoke b (not its key): 403" test "$(revoke "$T_TMP/h" "{\"serial_number\":\"$sb\"}")" = 403
t_check "the holder revokes its own certificate: 200" bash -c "test '$(revoke "$T_TMP/h" "{\"serial_number\":\"$sh\",\"reason\":\"keyCompromise\"}")' = 200 &&
	jq -e '.reason == \"keyCompromise\"' '$T_TMP/body'"
t_stop
t_check "signerd stopped cleanly again" test "$T_RC" = 0

# Offline.
t_check "signerctl revoke e --reason superseded: exit 0" bash -c "'$BUILD/signerctl' -c '$d/signerd.conf' revoke $se --reason superseded | grep -q 'revoked at'"
t_check "again: exit 0, revoked before, the original reason" bash -c "'$BUILD/signerctl' -c '$d/signerd.conf' revoke $se --reason keyCompromise | grep -q 'was revoked before.*(superseded)'"
t_check "an unknown serial: exit 1" bash -c "rv() { '$BUILD/signerctl' -c '$d/signerd.conf' revoke \"\$@\"; }; rv 00ff00ff 2>/dev/null; test \$? = 1"
t_check "certificateHold: exit 2" bash -c "'$BUILD/signerctl' -c '$d/signerd.conf' revoke $sb --reason certificateHold 2>/dev/null; test \$? = 2"
t_check "a bad serial: exit 2" bash -c "'$BUILD/signerctl' -c '$d/signerd.conf' revoke zz 2>/dev/null; test \$? = 2"
t_check "certs show e: status revoked" bash -c "'$BUILD/signerctl' -c '$d/signerd.conf' certs show $se | grep -qx 'status: revoked'"
n=$(t_audit export 2>/dev/null | grep -c '"crl_reason"')
t_check "four revocation records journaled (a, c, the holder's, e): $n" test "$n" = 4
t_check "audit verify: clean" t_audit verify --pubkey "$d/audit.pem"
t_done
