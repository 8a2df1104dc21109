#!/usr/bin/env bash
# The plain-HTTP public listener ([api] public_listen): exactly the public
# resources (CRL, CA certificate, OCSP), nothing of the HTTPS API; the same
# framing, method and size rules; the same per-source connection limit.
# CRLs and OCSP answers checked by OpenSSL; an OCSP flood of unknown serials
# from 127.0.0.2 gets tryLater past [ca] ocsp_signatures_per_second while the
# victim's issuance and its cached OCSP answer go on; a revocation is in the
# CRL and the OCSP answer after a restart; delta CRLs off (404) and on (over
# the complete CRL, Freshest CRL, a revocation in the next delta).
set -u
. "$(dirname "$0")/lib.sh"

d=$T_TMP/demo
t_demo "$d" p256 || { t_fail "demo state"; t_done; exit 1; }
PUB_PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
sed -i "/^workers = /a public_listen = 127.0.0.1\npublic_port = $PUB_PORT\nmax_connections_per_source = 4" "$d/signerd.conf"
# A small OCSP signature budget for the flood below; no delay before a new CRL.
sed -i '/^\(ocsp_signatures_per_second\|crl_delay\) = /d' "$d/signerd.conf"
sed -i "/^\[ca\]/a ocsp_signatures_per_second = 20\ncrl_delay = 0s" "$d/signerd.conf"
if ! t_start "$d"; then t_fail "signerd starts with a public listener"; t_done; exit 1; fi
PUB=http://127.0.0.1:$PUB_PORT
CA_NAME=issuing

# p_curl OUT [curl args...] URL: plain HTTP; headers in OUT.hdr; status printed.
p_curl() {
	local out=$1; shift
	rm -f "$out" "$out.hdr"
	curl -sS --max-time 10 -o "$out" -D "$out.hdr" -w '%{http_code}' "$@" 2>"$T_TMP/curl.err" || true
}
hdr() { tr -d '\r' <"$1.hdr" | sed -n "s/^$2: //Ip" | tail -n 1; }

t_check "the front logs the public listener and its port" \
	grep -q "public listener on 127.0.0.1 port $PUB_PORT" "$T_TMP/signerd.log"

# Only the public routes; the HTTPS API's are not found here.
t_check "public: POST /v1/sign is 404" test "$(p_curl "$T_TMP/b" -H 'Content-Type: application/json' --data '{}' "$PUB/v1/sign")" = 404
t_check "its body is a problem document" jq -e '.type == "urn:signerd:problem:not-found"' "$T_TMP/b"
t_check "public: GET /v1/certificates is 404" test "$(p_curl "$T_TMP/b" "$PUB/v1/certificates")" = 404
t_check "public: GET /metrics is 404" test "$(p_curl "$T_TMP/b" "$PUB/metrics")" = 404
t_check "public: GET /v1/ca is 404" test "$(p_curl "$T_TMP/b" "$PUB/v1/ca")" = 404
t_check "public: GET /healthz is 404" test "$(p_curl "$T_TMP/b" "$PUB/healthz")" = 404
t_check "public: another CA's certificate is 404" test "$(p_curl "$T_TMP/b" "$PUB/v1/ca/other/certificate")" = 404
t_check "public: another CA's CRL is 404" test "$(p_curl "$T_TMP/b" "$PUB/v1/ca/other/crl")" = 404
t_check "HTTPS: the CA certificate route is public-only (404)" test "$(t_get none "/v1/ca/$CA_NAME/certificate")" = 404
t_check "HTTPS: POST /ocsp is public-only (404)" \
	test "$(T_CONTENT_TYPE=application/ocsp-request t_post none /ocsp /dev/null)" = 404
t_check "public: TLS is not spoken there" bash -c "! curl -sS --max-time 5 -k https://127.0.0.1:$PUB_PORT/v1/crl -o /dev/null"

# Wrong methods: 405 with Allow.
t_check "public: POST /v1/crl is 405" test "$(p_curl "$T_TMP/b" --data x "$PUB/v1/crl")" = 405
t_check "with Allow: GET, HEAD" test "$(hdr "$T_TMP/b" Allow)" = "GET, HEAD"
t_check "public: GET /ocsp is 405" test "$(p_curl "$T_TMP/b" "$PUB/ocsp")" = 405
t_check "with Allow: POST" test "$(hdr "$T_TMP/b" Allow)" = "POST"
t_check "public: DELETE /v1/ca/$CA_NAME/certificate is 405" \
	test "$(p_curl "$T_TMP/b" -X DELETE "$PUB/v1/ca/$CA_NAME/certificate")" = 405

# The CA certificate: DER, the chain's first certificate.
t_check "HTTPS: GET /v1/ca (the chain)" test "$(t_get none /v1/ca)" = 200
cp "$T_TMP/body" "$T_TMP/chain.pem"
openssl x509 -in "$T_TMP/chain.pem" -out "$T_TMP/ca.pem" 2>/dev/null
openssl x509 -in "$T_TMP/ca.pem" -outform DER -out "$T_TMP/ca-want.der" 2>/dev/null
t_check "public: GET /v1/ca/$CA_NAME/certificate is 200" \
	test "$(p_curl "$T_TMP/ca.der" "$PUB/v1/ca/$CA_NAME/certificate")" = 200
t_check "as application/pkix-cert" test "$(hdr "$T_TMP/ca.der" Content-Type)" = application/pkix-cert
t_check "it parses as a DER certificate" openssl x509 -inform DER -in "$T_TMP/ca.der" -noout
t_check "it is the chain's first certificate" cmp "$T_TMP/ca.der" "$T_TMP/ca-want.der"
t_check "HEAD of it: 200, no body" bash -c "test \"\$(curl -sS --max-time 10 -I -o /dev/null -w '%{http_code}' $PUB/v1/ca/$CA_NAME/certificate)\" = 200"
t_check "the access log marks it public" bash -c "jq -e 'select(.path == \"/v1/ca/$CA_NAME/certificate\" and .listener == \"public\" and .status == 200)' '$T_TMP/signerd.log' | grep -q ."

# OCSP request limits: size and media type.
head -c 8193 /dev/zero >"$T_TMP/big.der"
t_check "public: an OCSP POST of 8193 bytes is 413" \
	test "$(p_curl "$T_TMP/b" -H 'Content-Type: application/ocsp-request' --data-binary "@$T_TMP/big.der" "$PUB/ocsp")" = 413
t_check "public: an OCSP POST as application/json is 415" \
	test "$(p_curl "$T_TMP/b" -H 'Content-Type: application/json' --data-binary '{}' "$PUB/ocsp")" = 415
t_check "public: an OCSP POST chunked is 411" \
	test "$(p_curl "$T_TMP/b" -H 'Content-Type: application/ocsp-request' -H 'Transfer-Encoding: chunked' --data-binary x "$PUB/ocsp/")" = 411
t_check "public: GET /ocsp/ of no base64 is 200" test "$(p_curl "$T_TMP/bad.der" "$PUB/ocsp/not*base64")" = 200
t_check "as application/ocsp-response" test "$(hdr "$T_TMP/bad.der" Content-Type)" = application/ocsp-response
t_check "and it is malformedRequest" test "$(od -An -tx1 "$T_TMP/bad.der" | tr -d ' \n')" = 30030a0101
t_check "public: a path with bad percent-encoding is 400" test "$(p_curl "$T_TMP/b" "$PUB/ocsp/%zz")" = 400

# An issued certificate for the OCSP checks.
t_csr "$T_TMP/leaf.csr" ec:P-256 "/CN=leaf.example.com" "DNS:leaf.example.com"
t_request "$T_TMP/leaf.csr" >"$T_TMP/leaf.json"
t_check "an issuance for the OCSP checks" test "$(t_sign issuer "$T_TMP/leaf.json")" = 200
jq -r .certificate "$T_TMP/body" >"$T_TMP/leaf.pem"

# The CRL: on both listeners.
t_check "public: GET /v1/crl is 200" test "$(p_curl "$T_TMP/crl.der" "$PUB/v1/crl")" = 200
t_check "HTTPS: GET /v1/crl without a client certificate is 200" test "$(t_get none /v1/crl)" = 200
t_check "as application/pkix-crl" test "$(hdr "$T_TMP/crl.der" Content-Type)" = application/pkix-crl
t_check "CRL parses and verifies with the CA certificate" bash -c \
	"openssl crl -inform DER -in '$T_TMP/crl.der' -CAfile '$T_TMP/ca.pem' -noout 2>&1 | grep -q 'verify OK'"
t_check "Last-Modified, Expires, Cache-Control" bash -c "test -n \"$(hdr "$T_TMP/crl.der" Last-Modified)\" &&
	test -n \"$(hdr "$T_TMP/crl.der" Expires)\" && [[ \"$(hdr "$T_TMP/crl.der" Cache-Control)\" == 'public, max-age='* ]]"
t_check "If-Modified-Since: 304" test "$(p_curl "$T_TMP/b" -H "If-Modified-Since: $(hdr "$T_TMP/crl.der" Last-Modified)" "$PUB/v1/crl")" = 304
p_curl "$T_TMP/crl2.der" "$PUB/v1/ca/$CA_NAME/crl" >/dev/null
t_check "/v1/ca/$CA_NAME/crl is the same CRL" cmp "$T_TMP/crl.der" "$T_TMP/crl2.der"
t_check "HTTPS /v1/crl is the same CRL" cmp "$T_TMP/crl.der" "$T_TMP/body"

# The delta CRL: the demo's configuration sets no [ca] delta_crl_validity, so there is none to serve.
t_check "public: GET /v1/crl/delta with delta CRLs off is 404" test "$(p_curl "$T_TMP/b" "$PUB/v1/crl/delta")" = 404
t_check "its body is a not-found problem naming [ca] delta_crl_validity" \
	jq -e '.type == "urn:signerd:problem:not-found" and (.detail | contains("delta_crl_validity"))' "$T_TMP/b"
t_check "as application/problem+json" test "$(hdr "$T_TMP/b" Content-Type)" = application/problem+json
t_check "public: GET /v1/ca/$CA_NAME/delta-crl is 404 too" \
	test "$(p_curl "$T_TMP/b" "$PUB/v1/ca/$CA_NAME/delta-crl")" = 404
t_check "with the same problem" jq -e '.type == "urn:signerd:problem:not-found" and (.detail | contains("delta_crl_validity"))' "$T_TMP/b"
t_check "public: another CA's delta CRL is 404" test "$(p_curl "$T_TMP/b" "$PUB/v1/ca/other/delta-crl")" = 404
t_check "HTTPS: GET /v1/crl/delta without a client certificate is 404" test "$(t_get none /v1/crl/delta)" = 404
t_check "public: POST /v1/crl/delta is 405" test "$(p_curl "$T_TMP/b" --data x "$PUB/v1/crl/delta")" = 405

# OCSP: openssl's own client, POST and GET.
openssl ocsp -issuer "$T_TMP/ca.pem" -cert "$T_TMP/leaf.pem" -no_nonce -reqout "$T_TMP/req.der" >/dev/null 2>&1
t_check "public: POST /ocsp is 200" \
	test "$(p_curl "$T_TMP/resp.der" -H 'Content-Type: application/ocsp-request' --data-binary "@$T_TMP/req.der" "$PUB/ocsp")" = 200
t_check "openssl ocsp reports good" bash -c "openssl ocsp -issuer '$T_TMP/ca.pem' -cert '$T_TMP/leaf.pem' \
	-url '$PUB/ocsp' -CAfile '$T_TMP/chain.pem' 2>&1 | grep -q ': good'"
t_check "a cacheable answer has RFC 5019's headers" bash -c "[[ \"$(hdr "$T_TMP/resp.der" Cache-Control)\" == max-age=*', public, no-transform, must-revalidate' ]] &&
	test -n \"$(hdr "$T_TMP/resp.der" Last-Modified)\" && test -n \"$(hdr "$T_TMP/resp.der" Expires)\""
b64=$(base64 -w0 "$T_TMP/req.der")
p_curl "$T_TMP/resp-get.der" "$PUB/ocsp/$b64" >/dev/null
t_check "GET /ocsp/{request} is the same answer" cmp "$T_TMP/resp.der" "$T_TMP/resp-get.der"
enc=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$b64")
t_check "GET with percent-encoded base64" test "$(p_curl "$T_TMP/resp-enc.der" "$PUB/ocsp/$enc")" = 200
openssl ocsp -issuer "$T_TMP/ca.pem" -cert "$T_TMP/leaf.pem" -reqout "$T_TMP/req-nonce.der" >/dev/null 2>&1
p_curl "$T_TMP/resp-n.der" -H 'Content-Type: application/ocsp-request' --data-binary "@$T_TMP/req-nonce.der" "$PUB/ocsp" >/dev/null
t_check "a nonce: no-store" test "$(hdr "$T_TMP/resp-n.der" Cache-Control)" = no-store

# The attack: 127.0.0.2 floods OCSP with unknown serials for 4 s, each one a signature if it were let through.
metric() { # NAME{LABELS}: its value in a scrape by the auditor
	t_get auditor /metrics >/dev/null
	awk -v k="$1" '$1 == k { print $2 }' "$T_TMP/body"
}
signed0=$(metric 'signerd_ocsp_answers_total{answer="signed"}')
python3 - "$PUB_PORT" "$T_TMP/ca.pem" >"$T_TMP/flood.out" 2>&1 <<'PY' &
import http.client, os, subprocess, sys, threading, time
port, ca = int(sys.argv[1]), sys.argv[2]
counts = {}
lock = threading.Lock()
def request(serial):
    return subprocess.run(["openssl", "ocsp", "-issuer", ca, "-serial", "0x" + serial, "-no_nonce",
                           "-reqout", "/dev/stdout"], capture_output=True, check=True).stdout
reqs = [request(os.urandom(16).hex()) for _ in range(60)]
def worker(k):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10, source_address=("127.0.0.2", 0))
    i = k
    while time.time() < start + 4:	# four seconds of it, while the victim works
        i += 4
        c.request("POST", "/ocsp", reqs[i % len(reqs)], {"Content-Type": "application/ocsp-request"})
        body = c.getresponse().read()
        status = body[4] if body[:2] == b"\x30\x03" else 0	# unsigned: 30 03 0a 01 <status>
        with lock:
            counts[status] = counts.get(status, 0) + 1
threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
start = time.time()
for t in threads: t.start()
for t in threads: t.join()
print("elapsed %.2f successful %d try_later %d other %d" % (time.time() - start, counts.get(0, 0), counts.get(3, 0),
      sum(counts.values()) - counts.get(0, 0) - counts.get(3, 0)))
PY
flood=$!
ok=0
for i in 1 2 3 4 5 6; do
	[ "$(t_sign issuer "$T_TMP/leaf.json")" = 200 ] && ok=$((ok + 1))
done
t_check "victim: 6 issuances during the flood, all 200 ($ok)" test "$ok" = 6
openssl ocsp -issuer "$T_TMP/ca.pem" -cert "$T_TMP/leaf.pem" -no_nonce -reqout "$T_TMP/req.der" >/dev/null 2>&1
t_check "victim: its cached OCSP answer during the flood is the same bytes" bash -c \
	"curl -sS --max-time 10 --interface 127.0.0.3 -H 'Content-Type: application/ocsp-request' \
	--data-binary @'$T_TMP/req.der' -o '$T_TMP/resp-flood.der' $PUB/ocsp && cmp '$T_TMP/resp.der' '$T_TMP/resp-flood.der'"
wait "$flood"
read -r _ elapsed _ successful _ later _ other <"$T_TMP/flood.out" || true
cat "$T_TMP/flood.out"
signed=$(( $(metric 'signerd_ocsp_answers_total{answer="signed"}') - signed0 ))
t_check "attacker: every request answered signed or tryLater ($successful, $later, other $other)" test "$other" = 0
t_check "attacker: most got tryLater" test "$later" -gt "$((4 * successful))"
t_check "attacker: its signed answers within the budget: $successful <= 20/s x ${elapsed}s + 20" \
	python3 -c "import sys; sys.exit(0 if $successful <= 20 * $elapsed + 21 else 1)"
t_check "HSM signatures for OCSP within the budget: $signed <= 20/s x ${elapsed}s + 20" \
	python3 -c "import sys; sys.exit(0 if $signed <= 20 * $elapsed + 21 else 1)"
t_check "signerd_ocsp_answers_total{answer=\"try_later\"} counts them" \
	test "$(metric 'signerd_ocsp_answers_total{answer="try_later"}')" -ge "$later"

# The per-source limit: 127.0.0.2 holds its 4 connections and more; 127.0.0.1 is still served.
python3 - "$PUB_PORT" >"$T_TMP/holder.out" 2>&1 <<'PY' &
import socket, sys, time
held = []
for i in range(12):
    s = socket.socket()
    s.bind(("127.0.0.2", 0))
    try:
        s.connect(("127.0.0.1", int(sys.argv[1])))
        s.sendall(b"GET /v1/crl HTTP/1.1\r\n")	# headers never finished
        held.append(s)
    except OSError:
        pass
print("held", len(held), flush=True)
time.sleep(6)
PY
holder=$!
sleep 1.5
t_check "attacker from 127.0.0.2 is refused past its limit" \
	bash -c "! curl -sS --max-time 5 --interface 127.0.0.2 -o /dev/null $PUB/v1/ca/$CA_NAME/certificate"
t_check "victim from 127.0.0.1 still gets the CA certificate" \
	test "$(p_curl "$T_TMP/v.der" "$PUB/v1/ca/$CA_NAME/certificate")" = 200
t_check "and it is the same certificate" cmp "$T_TMP/v.der" "$T_TMP/ca-want.der"
wait "$holder"

t_check "HTTPS still serves after all this" test "$(t_get none /healthz)" = 200

# A revocation, then a restart: the new CRL lists it and OCSP says revoked.
serial=$(openssl x509 -in "$T_TMP/leaf.pem" -noout -serial | cut -d= -f2 | tr 'A-F' 'a-f')
printf '{"serial_number":"%s","reason":"keyCompromise"}' "$serial" >"$T_TMP/revoke.json"
t_check "the revoker revokes the leaf" test "$(t_post revoker /v1/revoke "$T_TMP/revoke.json")" = 200
revoked_at=$(jq -r .revoked_at "$T_TMP/body")
t_stop
t_check "signerd stopped cleanly" test "${T_RC:-1}" = 0
if ! t_start "$d"; then t_fail "signerd starts again"; t_done; exit 1; fi
p_curl "$T_TMP/crl3.der" "$PUB/v1/crl" >/dev/null
t_check "after the restart the CRL lists the leaf as keyCompromise" bash -c \
	"openssl crl -inform DER -in '$T_TMP/crl3.der' -noout -text | grep -A4 -i 'Serial Number: $serial' | grep -q 'Key Compromise'"
crlnumber() { openssl crl -inform DER -in "$1" -noout -crlnumber | sed 's/^crlNumber=\(0x\)\{0,1\}//'; }
t_check "and its number is past the first CRL's" test "$((16#$(crlnumber "$T_TMP/crl3.der")))" -gt "$((16#$(crlnumber "$T_TMP/crl.der")))"
openssl crl -inform DER -in "$T_TMP/crl3.der" -out "$T_TMP/crl3.pem"
t_check "openssl verify -crl_check rejects the leaf" bash -c \
	"openssl verify -crl_check -CAfile '$T_TMP/chain.pem' -CRLfile '$T_TMP/crl3.pem' '$T_TMP/leaf.pem' 2>&1 | grep -q 'certificate revoked'"
t_check "openssl ocsp says revoked, keyCompromise" bash -c "openssl ocsp -issuer '$T_TMP/ca.pem' -cert '$T_TMP/leaf.pem' \
	-url '$PUB/ocsp' -CAfile '$T_TMP/chain.pem' 2>&1 | tee '$T_TMP/ocsp-revoked.txt' | grep -q ': revoked' &&
	grep -q 'Reason: keyCompromise' '$T_TMP/ocsp-revoked.txt'"
t_check "and its revocation time is the one POST /v1/revoke answered ($revoked_at)" python3 - "$T_TMP/ocsp-revoked.txt" "$revoked_at" <<'PY'
import datetime, re, sys
text = open(sys.argv[1]).read()
m = re.search(r"Revocation Time: (.+ GMT)", text)
got = datetime.datetime.strptime(" ".join(m.group(1).split()), "%b %d %H:%M:%S %Y GMT") if m else None
want = datetime.datetime.strptime(sys.argv[2], "%Y-%m-%dT%H:%M:%SZ")
sys.exit(0 if got == want else "OCSP says %s, the revocation %s" % (got, want))
PY
t_stop
t_check "signerd stopped cleanly again" test "${T_RC:-1}" = 0

# Delta CRLs on ([ca] delta_crl_validity, and delta_crl_url for the complete CRL's Freshest CRL).
sed -i "/^\[ca\]/a delta_crl_validity = 1h\ndelta_crl_url = $PUB/v1/crl/delta" "$d/signerd.conf"
if ! t_start "$d"; then t_fail "signerd starts with delta CRLs on"; t_done; exit 1; fi
t_check "public: GET /v1/crl/delta is 200" test "$(p_curl "$T_TMP/delta.der" "$PUB/v1/crl/delta")" = 200
# "X509v3 <name>:..." then the value on the next line, as openssl crl -text prints both numbers.
crl_ext() { openssl crl -inform DER -in "$1" -noout -text | grep -A1 "X509v3 $2" | tail -n 1 | tr -d ' '; }
p_curl "$T_TMP/full.der" "$PUB/v1/crl" >/dev/null
base=$(crl_ext "$T_TMP/full.der" "CRL Number")
t_check "as application/pkix-crl" test "$(hdr "$T_TMP/delta.der" Content-Type)" = application/pkix-crl
t_check "with Last-Modified, Expires, Cache-Control" bash -c "test -n \"$(hdr "$T_TMP/delta.der" Last-Modified)\" &&
	test -n \"$(hdr "$T_TMP/delta.der" Expires)\" && [[ \"$(hdr "$T_TMP/delta.der" Cache-Control)\" == 'public, max-age='* ]]"
t_check "If-Modified-Since: 304" \
	test "$(p_curl "$T_TMP/b" -H "If-Modified-Since: $(hdr "$T_TMP/delta.der" Last-Modified)" "$PUB/v1/crl/delta")" = 304
t_check "it parses as a DER CRL" openssl crl -inform DER -in "$T_TMP/delta.der" -noout
t_check "it verifies with the CA certificate" bash -c \
	"openssl crl -inform DER -in '$T_TMP/delta.der' -CAfile '$T_TMP/ca.pem' -noout 2>&1 | grep -q 'verify OK'"
t_check "it has a critical Delta CRL Indicator" bash -c \
	"openssl crl -inform DER -in '$T_TMP/delta.der' -noout -text | grep -q 'X509v3 Delta CRL Indicator: critical'"
t_check "whose base is the complete CRL's number (${base:-none})" \
	test "$(crl_ext "$T_TMP/delta.der" "Delta CRL Indicator")" = "${base:-none}"
t_check "the complete CRL has no Delta CRL Indicator" bash -c \
	"! openssl crl -inform DER -in '$T_TMP/full.der' -noout -text | grep -q 'Delta CRL Indicator'"
t_check "the complete CRL carries a Freshest CRL extension (delta_crl_url)" bash -c \
	"openssl crl -inform DER -in '$T_TMP/full.der' -noout -text | grep -A3 'X509v3 Freshest CRL' | grep -q '$PUB/v1/crl/delta'"
p_curl "$T_TMP/delta2.der" "$PUB/v1/ca/$CA_NAME/delta-crl" >/dev/null
t_check "/v1/ca/$CA_NAME/delta-crl is the same delta" cmp "$T_TMP/delta.der" "$T_TMP/delta2.der"
t_get none /v1/crl/delta >/dev/null
t_check "HTTPS /v1/crl/delta is the same delta" cmp "$T_TMP/delta.der" "$T_TMP/body"
# A revocation: the next delta lists it, on the same base.
t_csr "$T_TMP/leaf2.csr" ec:P-256 "/CN=leaf2.example.com" "DNS:leaf2.example.com"
t_request "$T_TMP/leaf2.csr" >"$T_TMP/leaf2.json"
t_check "an issuance to revoke" test "$(t_sign issuer "$T_TMP/leaf2.json")" = 200
serial2=$(jq -r .certificate "$T_TMP/body" | openssl x509 -noout -serial | cut -d= -f2 | tr 'A-F' 'a-f')
printf '{"serial_number":"%s","reason":"keyCompromise"}' "$serial2" >"$T_TMP/revoke2.json"
t_check "the revoker revokes it" test "$(t_post revoker /v1/revoke "$T_TMP/revoke2.json")" = 200
listed=0
end=$((SECONDS + 10))
while [ "$SECONDS" -lt "$end" ]; do
	p_curl "$T_TMP/delta3.der" "$PUB/v1/crl/delta" >/dev/null
	if openssl crl -inform DER -in "$T_TMP/delta3.der" -noout -text 2>/dev/null | grep -qi "Serial Number: $serial2"; then
		listed=1
		break
	fi
	sleep 0.1
done
t_check "within 10 s the next delta lists the revoked serial" test "$listed" = 1
t_check "it verifies with the CA certificate" bash -c \
	"openssl crl -inform DER -in '$T_TMP/delta3.der' -CAfile '$T_TMP/ca.pem' -noout 2>&1 | grep -q 'verify OK'"
t_check "its base is still the complete CRL's number (${base:-none})" \
	test "$(crl_ext "$T_TMP/delta3.der" "Delta CRL Indicator")" = "${base:-none}"
t_stop
t_check "signerd with delta CRLs stopped cleanly" test "${T_RC:-1}" = 0
t_done
