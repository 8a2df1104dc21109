#!/usr/bin/env bash
# Every route × every identity (no certificate, issuer, auditor, admin, revoker),
# as a table: allowed → success, a missing role or profile → 403
# forbidden, no certificate where one is needed → 401 unauthenticated, each
# refusal a problem document. A route in the permit table (api/api_routes.c)
# without a row here fails the test.
source "$(dirname "$0")/lib.sh"

d=$T_TMP/demo
if ! t_demo "$d" p256; then t_fail "demo state created"; t_done; exit; fi
# A checkpoint after every record, so that the auditor's routes all have something to show.
sed -i -e 's/^checkpoint_every = .*/checkpoint_every = 1/' "$d/signerd.conf"
if ! t_start "$d"; then t_fail "signerd starts" "$(tail -n 3 "$T_TMP/signerd.log")"; t_done; exit; fi
t_csr "$T_TMP/a.csr" ec:P-256 "/CN=a.example.com" "DNS:a.example.com"
t_request "$T_TMP/a.csr" server >"$T_TMP/a.json"
t_check "a first certificate (its serial for the proof route)" test "$(t_sign issuer "$T_TMP/a.json")" = 200
serial=$(jq -r .serial_number "$T_TMP/body")
# EST's CSR: the same request, base64 DER (RFC 7030 4.2.1).
openssl req -in "$T_TMP/a.csr" -outform DER | openssl base64 >"$T_TMP/a.b64"
printf '{"serial_number":"%s","reason":"superseded"}' "$serial" >"$T_TMP/revoke.json"
for _ in $(seq 1 200); do
	[ "$(t_get auditor "/v1/audit/proof?serial=$serial")" = 200 ] && break
	sleep 0.1
done

# METHOD PATH  none issuer auditor admin revoker   (admin holds issuer and admin, for profile
# subordinate-ca only; revoker holds revoker alone, which implies no other role). /v1/revoke
# revokes the first certificate: its issuer and the auditor may not (not their key), the
# admin does, and the revoker then gets the same answer (a repeat); it comes last. The demo's
# configuration sets no [ca] delta_crl_validity: the delta CRL routes are a 404 problem for everyone.
# EST's label is the server profile; serverkeygen is refused to everyone (501).
# ACME takes no client certificate (its JWS authenticates): the front's method rules answer
# every identity alike, 405 for a GET of a POST-only resource and a POST of a GET-only one.
matrix="POST /v1/sign 401 200 403 403 403
GET /v1/ca 200 200 200 200 200
GET /healthz 200 200 200 200 200
GET /readyz 200 200 200 200 200
GET /metrics 401 403 200 200 403
GET /v1/audit/checkpoint 401 403 200 403 403
GET /v1/audit/records?from=1&limit=5 401 403 200 403 403
GET /v1/audit/proof?serial=$serial 401 403 200 403 403
GET /v1/certificates?limit=5 401 403 200 200 403
GET /v1/certificates/$serial 401 200 200 200 403
GET /v1/crl 200 200 200 200 200
GET /v1/ca/issuing/crl 200 200 200 200 200
GET /v1/crl/delta 404 404 404 404 404
GET /v1/ca/issuing/delta-crl 404 404 404 404 404
GET /.well-known/est/cacerts 200 200 200 200 200
GET /.well-known/est/server/cacerts 200 200 200 200 200
POST /.well-known/est/server/simpleenroll 401 200 403 403 403
POST /.well-known/est/server/simplereenroll 401 200 403 403 403
GET /.well-known/est/server/csrattrs 204 204 204 204 204
POST /.well-known/est/server/serverkeygen 501 501 501 501 501
GET /acme/server/new-account 405 405 405 405 405
POST /acme/server/directory 405 405 405 405 405
POST /v1/revoke 401 403 403 200 200"

# Every route of the permit table on the HTTPS listener has a row, and every row is a route
# (the public listener's own routes are test_public's).
grep -E 'API_LISTENER_TLS' "$here/api/api_routes.c" |
	sed -nE 's/^[[:space:]]*\{ "(\/[^"]*)", "([A-Z]+)",.*/\2 \1/p' | sort >"$T_TMP/routes"
# A path parameter's row names a real value: the serial stands for {serial}, issuing for {name}.
awk -v serial="$serial" '{ sub(/\?.*/, "", $2); sub("/" serial "$", "/{serial}", $2); sub("^/v1/ca/issuing/", "/v1/ca/{name}/", $2)
	sub("^/[.]well-known/est/server/", "/.well-known/est/{label}/", $2); sub("^/acme/server/.*", "/acme/{path}", $2)
	print $1 " " $2 }' <<<"$matrix" |
	sort >"$T_TMP/rows"
t_check "the table has a row for each route of the permit table, and no other" diff -u "$T_TMP/routes" "$T_TMP/rows"

whos=(none issuer auditor admin revoker)
while read -r method path want_none want_issuer want_auditor want_admin want_revoker; do
	wants=("$want_none" "$want_issuer" "$want_auditor" "$want_admin" "$want_revoker")
	for i in 0 1 2 3 4; do
		who=${whos[$i]} want=${wants[$i]}
		case "$method $path" in
		"POST /v1/revoke") got=$(t_post "$who" "$path" "$T_TMP/revoke.json") ;;
		"POST /acme/"*) got=$(T_CONTENT_TYPE=application/jose+json t_post "$who" "$path" "$T_TMP/a.json") ;;
		"POST /.well-known/est/"*) got=$(T_CONTENT_TYPE=application/pkcs10 t_post "$who" "$path" "$T_TMP/a.b64") ;;
		POST*) got=$(t_sign "$who" "$T_TMP/a.json") ;;
		*) got=$(t_get "$who" "$path") ;;
		esac
		case "$want" in
		401) type=unauthenticated ;;
		403) type=forbidden ;;
		404) type=not-found ;;
		*) type= ;;
		esac
		if [ -n "$type" ]; then
			t_check "$method $path as $who: $want $type" \
				bash -c "test '$got' = '$want' && test \"\$(jq -r .type '$T_TMP/body')\" = 'urn:signerd:problem:$type'"
		else
			t_check "$method $path as $who: $want" test "$got" = "$want"
		fi
	done
done <<<"$matrix"
t_stop
t_check "signerd stopped cleanly" test "$T_RC" = 0
t_done
