#!/usr/bin/env bash
# The certificate inventory against a real signerd over mutual TLS: several
# certificates from two issuers and two profiles; GET /v1/certificates with
# each filter, pages through cursors and every bad value (400); GET
# /v1/certificates/{serial} as the requesting issuer, as the auditor, and
# as another issuer (404: serials of other clients are not disclosed);
# signerctl certs list/show/expiring/reindex offline; audit verify clean,
# then failing on an index tampered offline, then clean after reindex; a
# burst of concurrent issuance indexed in large batches under seccomp.
source "$(dirname "$0")/lib.sh"

d=$T_TMP/demo
if ! t_demo "$d" p256; then t_fail "demo state created"; t_done; exit; fi
# A second issuer, for the server profile only.
(
	cd "$d/tls" || exit 1
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ../clients/issuer2.key \
		-out issuer2.csr -subj "/O=signerd demo/CN=issuer2" 2>/dev/null &&
		openssl x509 -req -in issuer2.csr -CA client-ca.pem -CAkey client-ca.key -CAcreateserial -days 30 \
			-extfile <(printf '%s\n' 'basicConstraints=critical,CA:FALSE' 'keyUsage=critical,digitalSignature' \
			'extendedKeyUsage=clientAuth') -out ../clients/issuer2.pem 2>/dev/null
	rm -f issuer2.csr ./*.srl
)
printf '\n[client issuer2]\nroles = issuer\nprofiles = server\n' >>"$d/signerd.conf"
if ! t_start "$d"; then t_fail "signerd starts" "$(tail -n 3 "$T_TMP/signerd.log")"; t_done; exit; fi

# issue WHO NAME PROFILE: a certificate for NAME.example.com; its serial in $T_TMP/NAME.serial, PEM in NAME.pem.
issue() {
	t_csr "$T_TMP/$2.csr" ec:P-256 "/CN=$2.example.com" "DNS:$2.example.com,DNS:all.example.com"
	t_request "$T_TMP/$2.csr" "$3" >"$T_TMP/$2.json"
	[ "$(t_sign "$1" "$T_TMP/$2.json")" = 200 ] || return 1
	jq -r .serial_number "$T_TMP/body" >"$T_TMP/$2.serial"
	jq -r .certificate "$T_TMP/body" >"$T_TMP/$2.pem"
}
ok=0
for spec in issuer:a:server issuer:b:server issuer:c:server issuer:d:client issuer:e:client issuer2:f:server; do
	IFS=: read -r who name profile <<<"$spec"
	issue "$who" "$name" "$profile" && ok=$((ok + 1))
done
t_check "six certificates issued (two issuers, two profiles)" test "$ok" = 6
sa=$(cat "$T_TMP/a.serial") sf=$(cat "$T_TMP/f.serial")

# q QUERY: GET /v1/certificates?QUERY as the auditor (values already URL-encoded); status printed.
q() { t_get auditor "/v1/certificates?$1"; }
count() { jq '.items | length' "$T_TMP/body"; }
t_check "list: 200 with all six" bash -c "test '$(q limit=100)' = 200 && test \$(jq '.items | length' '$T_TMP/body') = 6"
t_check "the last page has no next_cursor" jq -e 'has("next_cursor") | not' "$T_TMP/body"
t_check "items carry serial, profile, client, validity, SANs, status, journal_seq" jq -e --arg s "$sa" \
	'.items[0] | .serial == $s and .profile == "server" and (.client | test("CN=issuer"))
	and (.not_before | test("Z$")) and (.not_after | test("Z$")) and .status == "valid" and .journal_seq > 0
	and (.sans | map(.value) | index("a.example.com") != null) and .sans[0].type == "dns"' "$T_TMP/body"
client_a=$(jq -r '.items[0].client' "$T_TMP/body")
q profile=client >/dev/null
t_check "profile=client: the two client certificates" test "$(count)" = 2
q "san=b.example.com" >/dev/null
t_check "san=b.example.com: one, b's" jq -e --arg s "$(cat "$T_TMP/b.serial")" '.items | length == 1 and .[0].serial == $s' "$T_TMP/body"
q "san=all.example.com" >/dev/null
t_check "san=all.example.com: all six" test "$(count)" = 6
q "client=$(jq -rn --arg c "$client_a" '$c | @uri')" >/dev/null
t_check "client=<issuer's subject>: its five" test "$(count)" = 5
q "client=$(jq -rn --arg c "$client_a" '$c | @uri')&profile=server" >/dev/null
t_check "client and profile together: three" test "$(count)" = 3
now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
tomorrow=$(date -u -d '+1 day' +%Y-%m-%dT%H:%M:%SZ)
q "valid_at=$now" >/dev/null
t_check "valid_at=now: all six" test "$(count)" = 6
q "valid_at=2020-01-01T00:00:00Z" >/dev/null
t_check "valid_at in 2020: none" test "$(count)" = 0
q "expires_before=$now" >/dev/null
t_check "expires_before=now: none" test "$(count)" = 0
q "expires_before=$tomorrow&valid_at=$now" >/dev/null
t_check "expiring within a day (12 h certificates): all six" test "$(count)" = 6
q "expires_before=$(date -u -d '+1 day' +%Y-%m-%dT%H:%M:%S)%2B02:00" >/dev/null
t_check "an offset time (+02:00) is read" test "$(count)" = 6

# Pages of two through the cursor: six distinct serials in three pages.
cursor= pages=0
: >"$T_TMP/paged"
while :; do
	q "limit=2&profile=server${cursor:+&cursor=$cursor}" >/dev/null
	pages=$((pages + 1))
	jq -r '.items[].serial' "$T_TMP/body" >>"$T_TMP/paged"
	cursor=$(jq -r '.next_cursor // empty' "$T_TMP/body")
	[ -n "$cursor" ] && [ "$pages" -lt 10 ] || break
done
t_check "profile=server in pages of 2: 4 serials, each once, in 2 pages" \
	bash -c "test \$(sort -u '$T_TMP/paged' | wc -l) = 4 && test \$(wc -l <'$T_TMP/paged') = 4 && test $pages = 2"
q "limit=2" >/dev/null
first_cursor=$(jq -r .next_cursor "$T_TMP/body")

# bad QUERY NEEDLE: 400 bad-request whose detail has NEEDLE.
bad() {
	local got
	got=$(q "$1")
	t_check "?$1: 400 bad-request naming $2" bash -c "test '$got' = 400 &&
		test \"\$(jq -r .type '$T_TMP/body')\" = urn:signerd:problem:bad-request &&
		jq -r .detail '$T_TMP/body' | grep -q -- '$2'"
}
bad "valid_at=yesterday" "valid_at"
bad "expires_before=2026-02-30T00:00:00Z" "is not a day"
bad "valid_at=2026-01-01T00:00:00" "zone"
bad "limit=0" "limit"
bad "limit=1001" "limit"
bad "profile=" "profile"
bad "cursor=zz" "cursor"
bad "cursor=$first_cursor&profile=server" "other filters"
bad "san=$(head -c 1100 /dev/zero | tr '\0' a)" "san"

# One certificate.
t_check "GET /v1/certificates/{a} as its issuer: 200" test "$(t_get issuer "/v1/certificates/$sa")" = 200
t_check "its PEM is the one issued, with who and when" bash -c "jq -r .certificate '$T_TMP/body' | cmp -s - '$T_TMP/a.pem' &&
	jq -e '(.client | test(\"CN=issuer\")) and (.requested_at | test(\"Z\$\")) and .profile == \"server\"
	and .status == \"valid\" and (.client_spki_sha256 | length) == 64' '$T_TMP/body'"
t_check "as the auditor: 200" test "$(t_get auditor "/v1/certificates/$sa")" = 200
t_check "upper-case hex: the same certificate" test "$(t_get auditor "/v1/certificates/${sa^^}")" = 200
code=$(t_get issuer2 "/v1/certificates/$sa")
t_check "another issuer: 404 not-found, as an unknown serial" bash -c "test '$code' = 404 &&
	test \"\$(jq -r .type '$T_TMP/body')\" = urn:signerd:problem:not-found"
t_check "issuer2 reads its own: 200" test "$(t_get issuer2 "/v1/certificates/$sf")" = 200
t_check "the first issuer cannot read issuer2's: 404" test "$(t_get issuer "/v1/certificates/$sf")" = 404
t_check "an unknown serial: 404" test "$(t_get auditor "/v1/certificates/00ff00ff")" = 404
t_check "a serial that is not hex: 400" test "$(t_get auditor "/v1/certificates/xyz1")" = 400
t_check "an odd number of digits: 400" test "$(t_get auditor "/v1/certificates/abc")" = 400
t_check "a segment past the serial: 404" test "$(t_get auditor "/v1/certificates/$sa/x")" = 404
t_stop
t_check "signerd stopped cleanly" test "$T_RC" = 0

# signerctl, offline.
ctl() { "$BUILD/signerctl" -c "$d/signerd.conf" certs "$@"; }
ctl list >"$T_TMP/list.out"
t_check "certs list: six lines" test "$(wc -l <"$T_TMP/list.out")" = 6
t_check "certs list --profile client: two" test "$(ctl list --profile client | wc -l)" = 2
t_check "certs list --client SUBJECT --limit 2: two" test "$(ctl list --client "$client_a" --limit 2 | wc -l)" = 2
t_check "certs list --san f.example.com: f" bash -c "ctl() { '$BUILD/signerctl' -c '$d/signerd.conf' certs \"\$@\"; };
	ctl list --san f.example.com | cut -f1 | grep -qx '$sf'"
t_check "certs list --valid-at 2020-01-01T00:00:00Z: none" test -z "$(ctl list --valid-at 2020-01-01T00:00:00Z)"
t_check "certs list --valid-at bad: usage (2)" bash -c "'$BUILD/signerctl' -c '$d/signerd.conf' certs list --valid-at bad 2>/dev/null; test \$? = 2"
ctl show "$sa" >"$T_TMP/show.out"
t_check "certs show: serial, status, client and a PEM openssl reads" bash -c "grep -qx 'serial: $sa' '$T_TMP/show.out' &&
	grep -qx 'status: valid' '$T_TMP/show.out' && grep -q '^client: .*CN=issuer' '$T_TMP/show.out' &&
	sed -n '/BEGIN/,/END/p' '$T_TMP/show.out' | openssl x509 -noout -serial | grep -qi '$sa'"
t_check "certs show of an unknown serial: exit 1" bash -c "'$BUILD/signerctl' -c '$d/signerd.conf' certs show 00ff 2>/dev/null; test \$? = 1"
t_check "certs expiring --within 1d: six" test "$(ctl expiring --within 1d | wc -l)" = 6
t_check "certs expiring --within 15m: none" test -z "$(ctl expiring --within 15m)"
t_check "certs expiring --within 7x: usage (2)" bash -c "'$BUILD/signerctl' -c '$d/signerd.conf' certs expiring --within 7x 2>/dev/null; test \$? = 2"
t_check "certs reindex: six certificates" bash -c "'$BUILD/signerctl' -c '$d/signerd.conf' certs reindex | grep -q '6 certificates'"
t_check "certs list after reindex: the same" bash -c "'$BUILD/signerctl' -c '$d/signerd.conf' certs list | cmp -s - '$T_TMP/list.out'"
t_check "audit verify: clean" t_audit verify --pubkey "$d/audit.pem"

# Tamper the index offline: swap the entries of the first two certificates (the first 'C' keys).
j=$(sed -n 's/^path *= *//p' "$d/signerd.conf" | head -n 1)
case "$j" in /*) ;; *) j=$d/$j ;; esac
mdb_dump -s inventory "$j" >"$T_TMP/inv_certs.dump"
awk 'BEGIN { n = 0 } /^ / { v[n++] = $0; next } { hdr = hdr $0 "\n" }
	END { printf "%s", hdr; print v[0]; print v[3]; print v[2]; print v[1] }' "$T_TMP/inv_certs.dump" |
	grep -v '^DATA=END$' >"$T_TMP/inv_certs.bad"
echo DATA=END >>"$T_TMP/inv_certs.bad"
mdb_load -s inventory -f "$T_TMP/inv_certs.bad" "$j" 2>"$T_TMP/load.err"
t_audit verify --pubkey "$d/audit.pem" >"$T_TMP/verify.out" 2>&1
rc=$?
t_check "audit verify of a tampered index: exit 1 naming it" bash -c "test $rc = 1 &&
	grep -q 'certificate index: entry of serial [0-9a-f]* (record [0-9]*) differs in the serial' '$T_TMP/verify.out'" \
	"$(cat "$T_TMP/verify.out" "$T_TMP/load.err")"
t_check "certs reindex repairs it" bash -c "'$BUILD/signerctl' -c '$d/signerd.conf' certs reindex >/dev/null"
t_check "audit verify: clean again" t_audit verify --pubkey "$d/audit.pem"

# A burst: batches of the trailing index hold many certificates at once, derived, sorted and written
# inside the signer's seccomp allow-list (sorting a large batch once got the signer killed).
if ! t_start "$d"; then t_fail "signerd starts again" "$(tail -n 3 "$T_TMP/signerd.log")"; t_done; exit; fi
t_csr "$T_TMP/burst.csr" ec:P-256 "/CN=burst.example.com" "DNS:burst.example.com,DNS:all.example.com"
t_request "$T_TMP/burst.csr" server >"$T_TMP/burst.json"
t_burst "$T_TMP/burst" 48 "$T_TMP/burst.json"
t_check "a burst of 48 concurrent issuances: all 200" test "$(grep -lx 200 "$T_TMP"/burst/*.code | wc -l)" = 48
t_check "the list right after holds all 54" bash -c "test '$(q limit=100)' = 200 && test \$(jq '.items | length' '$T_TMP/body') = 54"
t_get auditor /metrics >/dev/null
t_check "no certificate index batch failed" grep -qx 'signerd_certificate_index_failures_total 0' "$T_TMP/body"
t_stop
t_check "signerd stopped cleanly after the burst" test "$T_RC" = 0
t_check "audit verify: clean with the burst indexed" t_audit verify --pubkey "$d/audit.pem"
t_check "certs list offline: 54 lines" test "$(ctl list | wc -l)" = 54
t_done
