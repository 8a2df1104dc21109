#!/usr/bin/env bash
# Request framing and TLS refusals (issue 11): ambiguous or malformed
# requests are refused with a problem document and the connection closed,
# so that a request pipelined behind them is never served (RFC 9112 6.3);
# libmicrohttpd's own refusals end the connection instead of sending a
# malformed answer; nothing waits for a timeout; routes match the path as
# sent; TLS offers only ECDHE groups and answers TLS 1.0/1.1 with an alert.
source "$(dirname "$0")/lib.sh"

d=$T_TMP/demo
if ! t_demo "$d" p256; then t_fail "demo state created"; t_done; exit; fi
t_ok "demo state created"
if ! t_start "$d"; then t_fail "signerd started"; t_done; exit; fi
t_ok "signerd started"

# req NAME LINE...: a request, its lines joined with CRLF (an empty line
# ends the headers; what follows is body), then a pipelined GET /v1/ca, in
# $T_TMP/NAME.req.
req() {
	local f=$T_TMP/$1.req; shift
	: >"$f"
	while [ $# -gt 1 ]; do printf '%s\r\n' "$1" >>"$f"; shift; done
	printf '%s' "$1" >>"$f"
	printf 'GET /v1/ca HTTP/1.1\r\nHost: x\r\n\r\n' >>"$f"
}
# expect NAME STATUS SLUG: one answer only, STATUS with problem SLUG, Connection: close, quickly.
expect() {
	local name=$1 status=$2 slug=$3 rc
	t_raw "$T_TMP/$name" "$T_TMP/$name.req"; rc=$?
	t_check "$name: one answer, $status $slug, connection closed, no wait" bash -c "
		test $rc != 124 && test \"\$(tr '\n' ' ' <'$T_TMP/$name')\" = '$status ' &&
		grep -aq '^Connection: close' '$T_TMP/$name.raw' &&
		grep -aq '\"type\":\"urn:signerd:problem:$slug\"' '$T_TMP/$name.raw'"
}
# expect_library NAME STATUS: a header block libmicrohttpd 0.9.75 refuses
# itself (its answer is HTML, and for a bad Content-Length it writes the
# status line twice); what signerd can hold it to: only STATUS answers, the
# connection closed, the pipelined request never served, no wait.
expect_library() {
	local name=$1 status=$2 rc
	t_raw "$T_TMP/$name" "$T_TMP/$name.req"; rc=$?
	t_check "$name: libmicrohttpd's $status, closed, nothing pipelined served, no wait" bash -c "
		test $rc != 124 && test -s '$T_TMP/$name' && ! grep -qv '^$status\$' '$T_TMP/$name' &&
		grep -aq '^Connection: close' '$T_TMP/$name.raw'"
}

req cl-twice "POST /v1/sign HTTP/1.1" "Host: x" "Content-Type: application/json" \
	"Content-Length: 2" "Content-Length: 5" "" "{}"
expect cl-twice 400 bad-http
req cl-te "POST /v1/sign HTTP/1.1" "Host: x" "Content-Type: application/json" \
	"Content-Length: 7" "Transfer-Encoding: chunked" "" 2 "{}" 0 "" ""
expect cl-te 400 bad-http
req no-host "GET /healthz HTTP/1.1" "" ""
expect no-host 400 bad-http
req two-hosts "GET /healthz HTTP/1.1" "Host: a" "Host: b" "" ""
expect two-hosts 400 bad-http
req space-colon "POST /v1/sign HTTP/1.1" "Host: x" "Content-Type: application/json" "Content-Length : 2" "" "{}"
expect space-colon 400 bad-http
req xchunked "POST /v1/sign HTTP/1.1" "Host: x" "Content-Type: application/json" \
	"Transfer-Encoding: xchunked" "" "{}"
expect xchunked 501 not-implemented
req get-body "GET /v1/ca HTTP/1.1" "Host: x" "Content-Length: 2" "" "{}"
expect get-body 400 bad-http
req nul-path "POST /v1/ca%00 HTTP/1.1" "Host: x" "Content-Length: 0" "" ""
expect nul-path 400 bad-http
req encoded-path "POST /v1/%73ign HTTP/1.1" "Host: x" "Content-Length: 0" "" ""
expect encoded-path 404 not-found
req huge-length "POST /v1/sign HTTP/1.1" "Host: x" "Content-Type: application/json" \
	"Content-Length: 1000000000000" "" ""
expect huge-length 401 unauthenticated
req cl-negative "POST /v1/sign HTTP/1.1" "Host: x" "Content-Type: application/json" "Content-Length: -1" "" ""
expect_library cl-negative 400
req cl-overflow "POST /v1/sign HTTP/1.1" "Host: x" "Content-Type: application/json" \
	"Content-Length: 99999999999999999999999" "" ""
expect_library cl-overflow 413
req http2 "GET /healthz HTTP/2.0" "Host: x" "" ""
expect_library http2 505
# The header block lives in libmicrohttpd's per-connection pool (32 KiB,
# API_CONNECTION_MEMORY in api_server.c): 24 KiB of headers are served, 40 KiB
# get its 431 and the connection ends.
pad=$(head -c 24576 /dev/zero | tr '\0' a)
req headers-24k "GET /healthz HTTP/1.1" "Host: x" "X-Pad: $pad" "" ""
t_raw "$T_TMP/headers-24k" "$T_TMP/headers-24k.req"
t_check "24 KiB of headers: served, and the pipelined request too" \
	test "$(tr '\n' ' ' <"$T_TMP/headers-24k")" = "200 200 "
pad=$(head -c 40960 /dev/zero | tr '\0' a)
req headers-40k "GET /healthz HTTP/1.1" "Host: x" "X-Pad: $pad" "" ""
expect_library headers-40k 431

# As an authenticated issuer, the body rules: a chunked body is refused
# unread (411), and a declared body over max_body is refused unread (413).
printf 'POST /v1/sign HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n' \
	>"$T_TMP/chunked.req"
head -c 1048576 /dev/zero | tr '\0' 'a' | awk '{ printf "100000\r\n%s\r\n", substr($0, 1, 1048576) }' \
	>>"$T_TMP/chunked.req" 2>/dev/null || true
t_raw "$T_TMP/chunked" "$T_TMP/chunked.req" issuer; rc=$?
t_check "issuer, chunked body: 411 length-required, closed, no wait" bash -c "
	test $rc != 124 && test \"\$(tr '\n' ' ' <'$T_TMP/chunked')\" = '411 ' &&
	grep -aq 'urn:signerd:problem:length-required' '$T_TMP/chunked.raw'"
req big "POST /v1/sign HTTP/1.1" "Host: x" "Content-Type: application/json" "Content-Length: 104857600" "" ""
t_raw "$T_TMP/big" "$T_TMP/big.req" issuer; rc=$?
t_check "issuer, 100 MB declared: 413 body-too-large, closed, no wait" bash -c "
	test $rc != 124 && test \"\$(tr '\n' ' ' <'$T_TMP/big')\" = '413 ' &&
	grep -aq 'urn:signerd:problem:body-too-large' '$T_TMP/big.raw'"
t_check "the issuer's refusals are logged with their reason" \
	grep -q '"client":"issuer","status":411,"error":"length-required' "$T_TMP/signerd.log"

# HEAD is GET without a body; a good request still keeps its connection.
printf 'HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /v1/ca HTTP/1.1\r\nHost: x\r\n\r\n' >"$T_TMP/head.req"
printf 'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' >>"$T_TMP/head.req"
t_raw "$T_TMP/head" "$T_TMP/head.req"
t_check "HEAD /healthz 200, then GET /v1/ca and GET /healthz on the same connection" \
	test "$(tr '\n' ' ' <"$T_TMP/head")" = "200 200 200 "
t_check "HEAD answer has no body" bash -c "! head -c 400 '$T_TMP/head.raw' | grep -aq '\"status\"'"

# TLS: only ECDHE groups; TLS 1.0/1.1 get a protocol_version alert.
tls() { timeout 10 gnutls-cli --priority "$1" --x509cafile "$d/tls/ca.pem" -p "$T_PORT" 127.0.0.1 </dev/null 2>&1; }
tls 'NORMAL:-VERS-ALL:+VERS-TLS1.3:-GROUP-ALL:+GROUP-FFDHE8192' >"$T_TMP/ffdhe13.out"
t_check "TLS 1.3 offering only FFDHE8192: refused" bash -c "! grep -q 'Handshake was completed' '$T_TMP/ffdhe13.out'"
tls 'NORMAL:-VERS-ALL:+VERS-TLS1.2:-KX-ALL:+DHE-RSA:-GROUP-ALL:+GROUP-FFDHE8192' >"$T_TMP/dhe12.out"
t_check "TLS 1.2 offering only DHE with FFDHE8192: refused" bash -c "! grep -q 'Handshake was completed' '$T_TMP/dhe12.out'"
for g in X25519 SECP256R1 SECP384R1; do
	tls "NORMAL:-GROUP-ALL:+GROUP-$g" >"$T_TMP/$g.out"
	t_check "ECDHE $g: accepted" grep -q 'Handshake was completed' "$T_TMP/$g.out"
done
tls 'NORMAL:-VERS-ALL:+VERS-TLS1.1:+VERS-TLS1.0' >"$T_TMP/tls11.out"
t_check "TLS 1.0/1.1 client: protocol_version alert" grep -q 'Received alert \[70\]' "$T_TMP/tls11.out"

# The attack behind the group restriction: a client that asks for FFDHE8192
# made signerd spend about 224 ms of CPU per handshake. 20 such attempts
# now cost it under 10 ms each (CPU ticks of 10 ms from /proc).
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$T_PID/stat"; }
before=$(cpu_ticks)
for i in $(seq 1 20); do tls 'NORMAL:-VERS-ALL:+VERS-TLS1.3:-GROUP-ALL:+GROUP-FFDHE8192' >/dev/null; done
spent=$(($(cpu_ticks) - before))
echo "# signerd CPU for 20 FFDHE8192 attempts: $spent ticks of 10 ms"
t_check "20 FFDHE8192 attempts cost signerd under 200 ms of CPU" test "$spent" -lt 20
t_check "signerd still serves after the refusals" \
	test "$(curl -sS --cacert "$d/tls/ca.pem" -o /dev/null -w '%{http_code}' "$T_URL/healthz")" = 200

t_stop
t_check "signerd stopped cleanly" test "$T_RC" = 0
t_done
