#!/usr/bin/env bash
# Client authentication across the requests of one keep-alive TLS
# connection: signerd verifies a connection's client chain once and reuses
# the identity only while the same certificates are presented, the
# verification is recent and no certificate has expired. Each case sends
# several requests over one `openssl s_client` connection.
source "$(dirname "$0")/lib.sh"

# on_conn CERTPREFIX OUT [DELAY] REQUEST...: send each request file over one
# TLS connection as client CERTPREFIX (.pem/.key), sleeping DELAY seconds
# before each request after the first; the responses' status codes, one a
# line, go to OUT, and the number of TLS handshakes to OUT.handshakes.
on_conn() {
	local id=$1 out=$2 delay=$3 first=1 r
	shift 3
	{
		for r in "$@"; do
			[ "$first" = 1 ] || sleep "$delay"
			first=0
			cat "$r"
		done
	} | timeout 60 openssl s_client -quiet -connect "127.0.0.1:$T_PORT" \
		-CAfile "$T_DIR/tls/ca.pem" -cert "$id.pem" -key "$id.key" >"$out.raw" 2>"$out.err"
	# A JSON body ends without a newline: the next status line may follow it on the same line.
	grep -ao 'HTTP/1\.1 [0-9][0-9][0-9] ' "$out.raw" | cut -d' ' -f2 >"$out"
	grep -c '^depth=0' "$out.err" >"$out.handshakes" || true
}

# http_req OUT METHOD PATH [BODYFILE] [close]: an HTTP/1.1 request in OUT.
http_req() {
	local out=$1 method=$2 path=$3 body=${4:-} close=${5:-}
	{
		printf '%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n' "$method" "$path"
		[ -z "$close" ] || printf 'Connection: close\r\n'
		if [ -n "$body" ]; then
			printf 'Content-Type: application/json\r\nContent-Length: %s\r\n\r\n' "$(stat -c %s "$body")"
			cat "$body"
		else
			printf '\r\n'
		fi
	} >"$out"
}

# statuses FILE: the status codes in FILE on one line.
statuses() { tr '\n' ' ' <"$1" | sed 's/ $//'; }

d=$T_TMP/demo
if ! t_demo "$d" p256; then t_fail "demo state created"; t_done; exit; fi
t_ok "demo state created"
if ! t_start "$d"; then t_fail "signerd started"; t_done; exit; fi
t_ok "signerd started"

t_csr "$T_TMP/leaf.csr" ec:P-256 "/CN=svc.example.com" "DNS:svc.example.com"
t_request "$T_TMP/leaf.csr" >"$T_TMP/sign.json"
http_req "$T_TMP/sign.req" POST /v1/sign "$T_TMP/sign.json"
http_req "$T_TMP/sign-close.req" POST /v1/sign "$T_TMP/sign.json" close
http_req "$T_TMP/cp.req" GET /v1/audit/checkpoint
http_req "$T_TMP/cp-close.req" GET /v1/audit/checkpoint "" close

# Three issuances on one connection: each authorised, each journaled.
before=$(t_journal_count)
on_conn "$d/clients/issuer" "$T_TMP/keep" 0 "$T_TMP/sign.req" "$T_TMP/sign.req" "$T_TMP/sign-close.req"
t_check "issuer: three requests on one connection are all 200" test "$(statuses "$T_TMP/keep")" = "200 200 200"
t_check "issuer: one TLS handshake for the three" test "$(cat "$T_TMP/keep.handshakes")" = 1
t_check "issuer: three certificates journaled" test $(($(t_journal_count) - before)) -ge 3

# A refusal closes the connection (it is answered before the request is
# read through); the identity cached for a connection still passes the role
# check on every request.
on_conn "$d/clients/auditor" "$T_TMP/aud" 0 "$T_TMP/sign.req" "$T_TMP/sign.req" "$T_TMP/sign-close.req"
t_check "auditor on /v1/sign: 403, and the connection is closed" \
	bash -c "test \"\$(tr '\n' ' ' <'$T_TMP/aud')\" = '403 ' && grep -aq '^Connection: close' '$T_TMP/aud.raw'"
on_conn "$d/clients/auditor" "$T_TMP/aud2" 0 "$T_TMP/cp.req" "$T_TMP/cp.req" "$T_TMP/sign.req" "$T_TMP/cp-close.req"
t_check "auditor: its own route twice on one connection, then 403 on /v1/sign" \
	bash -c "[[ \"\$(tr '\n' ' ' <'$T_TMP/aud2')\" =~ ^(200|404)\ (200|404)\ 403\ \$ ]]"

# A client of another CA, with the issuer's subject: 401 on each connection.
mkdir -p "$T_TMP/rogue-ca"
(
	cd "$T_TMP/rogue-ca"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem \
		-days 30 -subj "/O=signerd demo/CN=signerd demo API client CA" \
		-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign" 2>/dev/null
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout rogue.key -out rogue.csr \
		-subj "/O=signerd demo/CN=issuer" 2>/dev/null
	openssl x509 -req -in rogue.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 30 \
		-extfile <(printf '%s\n' 'basicConstraints=critical,CA:FALSE' 'keyUsage=critical,digitalSignature' \
		'extendedKeyUsage=clientAuth') -out rogue.pem 2>/dev/null
)
on_conn "$T_TMP/rogue-ca/rogue" "$T_TMP/rogue" 0 "$T_TMP/cp.req" "$T_TMP/sign-close.req"
on_conn "$T_TMP/rogue-ca/rogue" "$T_TMP/rogue2" 0 "$T_TMP/sign.req" "$T_TMP/cp-close.req"
t_check "other CA, issuer's subject: 401 and closed, on each connection" \
	bash -c "test \"\$(cat '$T_TMP/rogue' '$T_TMP/rogue2' | tr '\n' ' ')\" = '401 401 ' &&
		grep -aq '^Connection: close' '$T_TMP/rogue.raw' && grep -aq '^Connection: close' '$T_TMP/rogue2.raw'"
t_check "other CA: refusals logged as unauthenticated" \
	test "$(grep -c '"client":"-","status":401,"error":"unauthenticated: client certificate not trusted' "$T_TMP/signerd.log")" = 2

# A client certificate that expires while its connection is open: the
# first request is served, the one after the expiry refused (401), on the
# same connection and well within API_AUTH_CACHE_SECONDS. It is the demo
# issuer's key and SPIFFE ID, which the demo's [client issuer] is pinned to.
cat >"$T_TMP/short.tmpl" <<TMPL
cn = "issuer"
organization = "signerd demo"
uri = "spiffe://signerd.demo/issuer"
serial = 4242
activation_date = "$(date -u -d '-1 min' '+%Y-%m-%d %H:%M:%S') UTC"
expiration_date = "$(date -u -d '+3 sec' '+%Y-%m-%d %H:%M:%S') UTC"
tls_www_client
signing_key
TMPL
cp "$d/clients/issuer.key" "$T_TMP/short.key"
openssl req -new -key "$T_TMP/short.key" -out "$T_TMP/short.csr" -subj "/O=signerd demo/CN=issuer" 2>/dev/null
certtool --generate-certificate --load-request "$T_TMP/short.csr" --load-ca-certificate "$d/tls/client-ca.pem" \
	--load-ca-privkey "$d/tls/client-ca.key" --template "$T_TMP/short.tmpl" --outfile "$T_TMP/short.pem" \
	>"$T_TMP/certtool.log" 2>&1
on_conn "$T_TMP/short" "$T_TMP/short" 5 "$T_TMP/sign.req" "$T_TMP/sign-close.req"
t_check "certificate expiring mid-connection: 200, then 401 on the same connection" \
	test "$(statuses "$T_TMP/short")" = "200 401"
t_check "the expiry is the reason given" grep -q '"client":"-","status":401,"error":"unauthenticated: client certificate not trusted: .*expired' "$T_TMP/signerd.log"
t_check "one TLS handshake for both" test "$(cat "$T_TMP/short.handshakes")" = 1

t_stop
t_check "signerd stopped cleanly" test "$T_RC" = 0
t_done
