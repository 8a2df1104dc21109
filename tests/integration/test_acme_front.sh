#!/usr/bin/env bash
# The ACME front (RFC 8555) over the real pair of processes: /acme/PROFILE/...
# routed to the signer's engine and back, the URL base from Host, the
# headers an ACME client needs (Replay-Nonce, Link, Cache-Control), and the
# front's own refusals (unknown directory 404, wrong media type 415, wrong
# method 405). No client certificate is presented anywhere: ACME clients
# authenticate by JWS. The account and order handlers are not merged yet,
# so the flow stops at the JWS checks.
set -u
. "$(dirname "$0")/lib.sh"

d=$T_TMP/demo
t_demo "$d" p256 || { t_fail "demo state"; t_done; exit 1; }
# The demo serves ACME on profile server with EAB; this test needs none.
sed -i '/^\[profile server\]/a acme_eab = false' "$d/signerd.conf"
if ! t_start "$d"; then t_fail "signerd starts with an ACME profile"; t_done; exit 1; fi

# a_curl OUT [curl args...] URL: no client certificate; headers in OUT.hdr; status printed.
a_curl() {
	local out=$1; shift
	rm -f "$out" "$out.hdr"
	curl -sS --max-time 30 --cacert "$T_DIR/tls/ca.pem" -o "$out" -D "$out.hdr" -w '%{http_code}' "$@" \
		2>"$T_TMP/curl.err" || true
}
hdr() { tr -d '\r' <"$1.hdr" | sed -n "s/^$2: //Ip" | tail -n 1; }
A=$T_URL/acme/server
b=$T_TMP/body

st=$(a_curl "$b" "$A/directory")
base="$T_URL/acme/server/"
if [ "$st" = 200 ] && [ "$(hdr "$b" Content-Type)" = application/json ] &&
	jq -e --arg b "$base" '[.newNonce, .newAccount, .newOrder, .revokeCert, .keyChange, .renewalInfo]
		| all(type == "string" and startswith($b))' "$b" >/dev/null 2>&1; then
	t_ok "GET directory: 200 JSON, every URL under $base"
else
	t_fail "GET directory" "status $st: $(head -c 300 "$b" 2>/dev/null)"
fi
t_check "directory answers no-store" test "$(hdr "$b" Cache-Control)" = no-store

st=$(a_curl "$b" -I "$A/new-nonce")
n1=$(hdr "$b" Replay-Nonce)
if [ "$st" = 200 ] && [ -n "$n1" ]; then t_ok "HEAD new-nonce: 200 with Replay-Nonce"; else
	t_fail "HEAD new-nonce" "status $st, nonce '$n1'"; fi
t_check "HEAD new-nonce links the directory" grep -qi "^link: <$A/directory>;rel=\"index\"" "$b.hdr"
st=$(a_curl "$b" "$A/new-nonce")
n2=$(hdr "$b" Replay-Nonce)
if [ "$st" = 204 ] && [ -n "$n2" ] && [ "$n2" != "$n1" ]; then t_ok "GET new-nonce: 204 with a fresh Replay-Nonce"; else
	t_fail "GET new-nonce" "status $st, nonce '$n2' (before '$n1')"; fi

st=$(a_curl "$b" "$T_URL/acme/nosuch/directory")
if [ "$st" = 404 ] && [ "$(hdr "$b" Content-Type)" = application/problem+json ]; then
	t_ok "GET /acme/nosuch/directory: 404 problem"; else t_fail "unknown directory" "status $st"; fi
st=$(a_curl "$b" "$A/nosuch")
t_check "an unknown resource is 404 (status $st)" test "$st" = 404
st=$(a_curl "$b" "$A/acct/a%2Fb")
t_check "an id with a character outside [A-Za-z0-9._-] is 404 (status $st)" test "$st" = 404

printf 'garbage' >"$T_TMP/garbage"
st=$(a_curl "$b" -H 'Content-Type: application/jose+json' --data-binary "@$T_TMP/garbage" "$A/new-account")
if [ "$st" = 400 ] && [ "$(hdr "$b" Content-Type)" = application/problem+json ] &&
	[ "$(jq -r .type "$b" 2>/dev/null)" = urn:ietf:params:acme:error:malformed ] &&
	[ -n "$(hdr "$b" Replay-Nonce)" ]; then
	t_ok "POST new-account with a garbage JWS: 400 malformed with a Replay-Nonce"
else
	t_fail "POST new-account garbage" "status $st: $(head -c 300 "$b" 2>/dev/null)"
fi
st=$(a_curl "$b" -H 'Content-Type: application/json' --data-binary "@$T_TMP/garbage" "$A/new-account")
t_check "POST with Content-Type application/json is 415 (status $st)" test "$st" = 415
st=$(a_curl "$b" "$A/new-account")
if [ "$st" = 405 ] && [ "$(hdr "$b" Allow)" = POST ]; then t_ok "GET new-account: 405, Allow: POST"; else
	t_fail "GET new-account" "status $st, Allow '$(hdr "$b" Allow)'"; fi
st=$(a_curl "$b" -H 'Content-Type: application/jose+json' --data-binary "@$T_TMP/garbage" "$A/directory")
t_check "POST directory is 405 (status $st)" test "$st" = 405
st=$(a_curl "$b" -H 'Host: bad host' "$A/directory")
t_check "a malformed Host is 400 (status $st)" test "$st" = 400
st=$(a_curl "$b" -H 'Host: ca.example.test:8443' "$A/directory")
if [ "$st" = 200 ] && jq -e '.newNonce | startswith("https://ca.example.test:8443/acme/server/")' "$b" >/dev/null 2>&1; then
	t_ok "the URL base follows Host"; else t_fail "URL base from Host" "status $st"; fi

t_stop
t_check "signerd stops cleanly (status ${T_RC:-?})" test "${T_RC:-1}" = 0
t_done
