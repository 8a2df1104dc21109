#!/usr/bin/env bash
# api/openapi.yaml against the code: its operations are exactly the permit
# table's routes (api/api_routes.c), every problem type the API makes is in
# its list, and a running signerd's answers carry the fields and problem
# types the document names.
source "$(dirname "$0")/lib.sh"
doc=$here/api/openapi.yaml

# "METHOD PATH" of each route in the permit table.
sed -nE 's/^[[:space:]]*\{ "(\/[^"]*)", "([A-Z]+)",.*/\2 \1/p' "$here/api/api_routes.c" | sort >"$T_TMP/routes"
# "METHOD PATH" of each operation in the document.
awk '/^  \/[^ ]*:$/ { path = substr($1, 1, length($1) - 1) }
	/^    (get|put|post|delete|patch):$/ { m = toupper(substr($1, 1, length($1) - 1)); print m " " path }' \
	"$doc" | sort >"$T_TMP/ops"
t_check "the permit table has routes ($(wc -l <"$T_TMP/routes"))" test -s "$T_TMP/routes"
t_check "the document's operations are the permit table's routes" diff -u "$T_TMP/routes" "$T_TMP/ops"

# Problem slugs: the API's own table, and the document's enum.
sed -nE 's/^[[:space:]]*\[API_P_[A-Z_]+\] = \{ "([a-z-]+)".*/\1/p' "$here/api/api_json.c" | sort >"$T_TMP/api-slugs"
sed -nE 's/^[[:space:]]*- urn:signerd:problem:([a-z-]+)$/\1/p' "$doc" | sort >"$T_TMP/doc-slugs"
sed -nE 's/^[[:space:]]*\[[^]]*\] = \{ "([a-z-]+)".*/\1/p' "$here/signer/base/sd_error.c" | sort >"$T_TMP/err-slugs"
t_check "the API's problem types ($(wc -l <"$T_TMP/api-slugs")) are all in the document" \
	bash -c "test -s '$T_TMP/api-slugs' && test -z \"\$(comm -23 '$T_TMP/api-slugs' '$T_TMP/doc-slugs')\""
t_check "the document names no problem type the code cannot make" \
	bash -c "test -z \"\$(comm -23 '$T_TMP/doc-slugs' <(sort -u '$T_TMP/api-slugs' '$T_TMP/err-slugs'))\""

# Examples against the schemas beside them (a broken example fails here).
check=$here/tests/integration/openapi_check.py
t_check "every example in the document validates against its schema" /usr/bin/python3 "$check" "$doc" examples
sed 's/^              ttl: 3600$/              ttl: soon/' "$doc" >"$T_TMP/broken.yaml"
t_check "and a broken one would not" bash -c "! /usr/bin/python3 '$check' '$T_TMP/broken.yaml' examples"

# The running service against the document.
d=$T_TMP/demo
if ! t_demo "$d" p256 || ! t_start "$d"; then t_fail "signerd starts"; t_done; exit; fi
in_doc() { grep -qx "[[:space:]]*- urn:signerd:problem:${1#urn:signerd:problem:}" "$doc"; }
t_csr "$T_TMP/a.csr" ec:P-256 "/CN=a.example.com" "DNS:a.example.com"
t_request "$T_TMP/a.csr" >"$T_TMP/a.json"
t_check "POST /v1/sign: 200" test "$(t_sign issuer "$T_TMP/a.json")" = 200
t_check "its answer has SignResponse's required fields" \
	jq -e 'has("serial_number") and has("certificate") and has("ca_chain") and has("not_after") and has("journal_seq")' "$T_TMP/body"
t_check "its answer validates against the document's SignResponse" \
	/usr/bin/python3 "$check" "$doc" answer POST /v1/sign 200 "$T_TMP/body"
for case in "none:unauthenticated" "auditor:forbidden"; do
	t_sign "${case%%:*}" "$T_TMP/a.json" >/dev/null
	t_check "POST /v1/sign as ${case%%:*}: $(t_problem_type) is in the document" in_doc "$(t_problem_type)"
done
printf '{"csr": 1}' >"$T_TMP/bad.json"
t_sign issuer "$T_TMP/bad.json" >/dev/null
t_check "a wrongly typed field: $(t_problem_type) is in the document" in_doc "$(t_problem_type)"
t_request "$T_TMP/a.csr" nope >"$T_TMP/nope.json"
t_sign issuer "$T_TMP/nope.json" >/dev/null
t_check "an unknown profile: $(t_problem_type) is in the document" in_doc "$(t_problem_type)"
t_check "GET /v1/audit/records: 200" test "$(t_get auditor '/v1/audit/records?from=1&limit=2')" = 200
t_check "its answer has AuditRecords's required fields" jq -e 'has("records") and has("last_seq") and has("next")' "$T_TMP/body"
t_check "its answer validates against the document's AuditRecords" \
	/usr/bin/python3 "$check" "$doc" answer GET /v1/audit/records 200 "$T_TMP/body"
for case in "none:unauthenticated" "auditor:forbidden"; do
	t_sign "${case%%:*}" "$T_TMP/a.json" >/dev/null
	t_check "POST /v1/sign as ${case%%:*}: the problem validates against the document's Problem" \
		/usr/bin/python3 "$check" "$doc" answer POST /v1/sign "$(jq -r .status "$T_TMP/body")" "$T_TMP/body"
done
t_check "GET /readyz: 200 and a Status" bash -c "test \"\$(curl -sS --cacert '$d/tls/ca.pem' -o '$T_TMP/ready.json' \
	-w '%{http_code}' '$T_URL/readyz')\" = 200 && /usr/bin/python3 '$check' '$doc' answer GET /readyz 200 '$T_TMP/ready.json'"
t_check "GET /v1/certificates: 200" test "$(t_get auditor '/v1/certificates?limit=1')" = 200
t_check "its answer has CertificatePage's and CertificateItem's required fields" jq -e '(.items | length) == 1 and
	(.items[0] | has("serial") and has("profile") and has("client") and has("not_before") and has("not_after")
	and has("sans") and has("status") and has("journal_seq"))' "$T_TMP/body"
serial=$(jq -r '.items[0].serial' "$T_TMP/body")
t_check "GET /v1/certificates/{serial}: 200" test "$(t_get issuer "/v1/certificates/$serial")" = 200
t_check "its answer has Certificate's required fields" jq -e 'has("certificate") and has("client_spki_sha256")
	and has("requested_at") and has("intent_seq") and has("serial") and has("status")' "$T_TMP/body"
t_get auditor '/v1/certificates?valid_at=yesterday' >/dev/null
t_check "a bad time filter: $(t_problem_type) is in the document" in_doc "$(t_problem_type)"
t_get auditor '/v1/certificates/00ff' >/dev/null
t_check "an unknown serial: $(t_problem_type) is in the document" in_doc "$(t_problem_type)"
printf '{"serial_number":"%s","reason":"keyCompromise"}' "$serial" >"$T_TMP/revoke.json"
t_check "POST /v1/revoke: 200" test "$(t_post revoker /v1/revoke "$T_TMP/revoke.json")" = 200
t_check "its answer validates against the document's Revocation" \
	/usr/bin/python3 "$check" "$doc" answer POST /v1/revoke 200 "$T_TMP/body"
t_post issuer /v1/revoke "$T_TMP/revoke.json" >/dev/null
t_check "another client's certificate: $(t_problem_type) is in the document" in_doc "$(t_problem_type)"
t_check "GET /healthz: 200" test "$(t_get none /healthz)" = 200
t_check "its answer is {status: ok}" jq -e '.status == "ok"' "$T_TMP/body"
t_stop
t_done
