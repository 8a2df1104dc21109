#!/usr/bin/env bash
# ACME (RFC 8555) with the stock clients Debian ships: certbot, lego and
# uacme each get a certificate from a real signerd over HTTPS (http-01,
# and with lego tls-alpn-01 and dns-01, a wildcard too, against a test DNS
# server), renew it and revoke it; every certificate chains to the demo
# root and is in the journal. Then the requests stock clients never send
# (acme_client.py), each refused with its ACME error and nothing issued,
# and renewal information (RFC 9773).
source "$(dirname "$0")/lib.sh"

for tool in certbot lego uacme; do
	command -v "$tool" >/dev/null || { t_fail "$tool is installed (make deps)"; t_done; exit; }
done
free_port() { /usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
http_port=$(free_port)
tls_port=$(free_port)
names="certbot.example.com lego.example.com lego-tls.example.com uacme.example.com neg.example.com"
# dns-01: a DNS server (python3-dnslib) answers TXT records from a file the tests and lego's hook write.
records=$T_TMP/dns-records
: >"$records"
/usr/bin/python3 "$(dirname "$0")/dns_server.py" "$records" "$T_TMP/dns-port" 2>"$T_TMP/dns.log" &
dns_pid=$!
for _ in $(seq 1 50); do [ -s "$T_TMP/dns-port" ] && break; sleep 0.1; done
dns_port=$(cat "$T_TMP/dns-port" 2>/dev/null)
[ -n "$dns_port" ] || { t_fail "the test DNS server starts" "$(cat "$T_TMP/dns.log")"; t_done; exit; }
d=$T_TMP/demo
if ! ACME_HTTP_PORT=$http_port ACME_TLS_PORT=$tls_port ACME_HOSTS=$names ACME_RESOLVER=127.0.0.1:$dns_port \
	t_demo "$d" p256; then
	t_fail "demo state created"; t_done; exit
fi
# An operator's first EAB key, before signerd ever ran: the journal directory is made, the ACME state in it.
sed 's|^path = journal$|path = journal-fresh|' "$d/signerd.conf" >"$d/fresh.conf"
t_check "acme eab add before the journal exists" \
	bash -c "'$BUILD/signerctl' -c '$d/fresh.conf' acme eab add --profile server | grep -q '^kid: '"
t_check "acme eab list there" bash -c "'$BUILD/signerctl' -c '$d/fresh.conf' acme eab list | grep -q 'profiles=server'"
rm -rf "$d/journal-fresh" "$d/fresh.conf"
# Wildcards: profile server may certify them (the demo's says no).
sed -i '/^\[profile server\]/,/^\[/ s/^wildcards = false$/wildcards = true/' "$d/signerd.conf"
if ! t_start "$d"; then t_fail "signerd starts" "$(tail -n 3 "$T_TMP/signerd.log")"; t_done; exit; fi
dir=$T_URL/acme/server/directory
ca=$d/tls/ca.pem
client=$(dirname "$0")/acme_client.py

# eab [--dns-suffix S]: a new EAB key for profile server; sets kid and key.
eab() {
	"$BUILD/signerctl" -c "$d/signerd.conf" acme eab add --profile server "$@" >"$T_TMP/eab.txt" 2>&1 || return 1
	kid=$(sed -n 's/^kid: //p' "$T_TMP/eab.txt")
	key=$(sed -n 's/^hmac_key: //p' "$T_TMP/eab.txt")
	[ -n "$kid" ] && [ -n "$key" ]
}
# auditor GET of the certificate in PEM file $1: its JSON in $T_TMP/cert.json, status printed.
journaled() {
	local serial
	serial=$(openssl x509 -in "$1" -noout -serial | cut -d= -f2 | tr 'A-F' 'a-f')
	curl -sS --cacert "$ca" --cert "$d/clients/auditor.pem" --key "$d/clients/auditor.key" \
		-o "$T_TMP/cert.json" -w '%{http_code}' "$T_URL/v1/certificates/$serial"
}
issued_count() {
	curl -sS --cacert "$ca" --cert "$d/clients/auditor.pem" --key "$d/clients/auditor.key" \
		"$T_URL/v1/certificates?profile=server&limit=1000" | jq '.items | length'
}
# check_cert NAME PEM: chains to the root, names NAME, journaled under profile server by an ACME account.
check_cert() {
	t_check "$1: the certificate chains to the demo root" \
		openssl verify -CAfile "$d/ca/root.pem" -untrusted "$d/ca/chain.pem" "$2"
	t_check "$1: it names $3" bash -c "openssl x509 -in '$2' -noout -ext subjectAltName | grep -q 'DNS:$3'"
	t_check "$1: it is in the journal, profile server, requested by an ACME account" \
		bash -c "test \"\$(journaled '$2')\" = 200 && jq -e '.profile == \"server\" and (.client | startswith(\"acme:server/\"))' '$T_TMP/cert.json' >/dev/null"
}
export -f journaled
export ca d T_URL T_TMP

t_check "GET the directory: 200, with the six resources" \
	bash -c "curl -sS --cacert '$ca' '$dir' | jq -e '.newNonce and .newAccount and .newOrder and .revokeCert and .keyChange and .renewalInfo and .meta.externalAccountRequired == true' >/dev/null"

# certbot: http-01 (standalone), renewal, revocation.
cb=$T_TMP/certbot
certbot_run() {
	REQUESTS_CA_BUNDLE=$ca certbot --non-interactive --config-dir "$cb" --work-dir "$cb" --logs-dir "$cb" \
		--server "$dir" "$@" >>"$T_TMP/certbot.log" 2>&1
}
eab
t_check "certbot certonly --standalone (http-01, EAB): a certificate" \
	certbot_run certonly --standalone --agree-tos -m ops@example.com --eab-kid="$kid" --eab-hmac-key="$key" \
	--http-01-port "$http_port" --http-01-address 127.0.0.1 --key-type ecdsa -d certbot.example.com
check_cert certbot "$cb/live/certbot.example.com/cert.pem" certbot.example.com
cp "$cb/live/certbot.example.com/cert.pem" "$T_TMP/certbot-1.pem"
t_check "certbot renew --force-renewal: a new certificate" \
	certbot_run renew --force-renewal --no-random-sleep-on-renew --http-01-port "$http_port" --http-01-address 127.0.0.1
t_check "certbot: the renewed certificate is another one" \
	bash -c "! cmp -s '$T_TMP/certbot-1.pem' '$cb/live/certbot.example.com/cert.pem'"
check_cert "certbot renewed" "$cb/live/certbot.example.com/cert.pem" certbot.example.com
t_check "certbot revoke: accepted" \
	certbot_run revoke --cert-path "$cb/live/certbot.example.com/cert.pem" --reason keycompromise --no-delete-after-revoke
t_check "certbot: the journal holds it revoked" \
	bash -c "journaled '$cb/live/certbot.example.com/cert.pem' >/dev/null && jq -e '.status == \"revoked\"' '$T_TMP/cert.json' >/dev/null"

# lego: http-01 and tls-alpn-01, renewal, revocation.
lg=$T_TMP/lego
lego_run() {
	LEGO_CA_CERTIFICATES=$ca lego --server "$dir" --path "$lg" --accept-tos -m ops@example.com \
		--eab --kid="$kid" --hmac="$key" --key-type ec256 "$@" >>"$T_TMP/lego.log" 2>&1
}
eab
t_check "lego run --http (http-01, EAB): a certificate" \
	lego_run --domains lego.example.com --http --http.port "127.0.0.1:$http_port" run
check_cert lego "$lg/certificates/lego.example.com.crt" lego.example.com
cp "$lg/certificates/lego.example.com.crt" "$T_TMP/lego-1.pem"
t_check "lego renew --days 999: a new certificate" \
	lego_run --domains lego.example.com --http --http.port "127.0.0.1:$http_port" renew --days 999 --no-random-sleep
t_check "lego: the renewed certificate is another one" \
	bash -c "! cmp -s '$T_TMP/lego-1.pem' '$lg/certificates/lego.example.com.crt'"
t_check "lego run --tls (tls-alpn-01): a certificate" \
	lego_run --domains lego-tls.example.com --tls --tls.port "127.0.0.1:$tls_port" run
check_cert "lego tls-alpn-01" "$lg/certificates/lego-tls.example.com.crt" lego-tls.example.com
# lego: dns-01 through its exec provider (a hook that edits the records file), a name, then a
# wildcard with its base name: two TXT records at one name, one per authorization.
hook=$T_TMP/lego-dns-hook.sh
cat >"$hook" <<EOF
#!/bin/sh
# lego's exec provider: present|cleanup FQDN VALUE
case "\$1" in
present) echo "\$2 \$3" >>'$records' ;;
cleanup) grep -vF "\$2 \$3" '$records' >'$records.tmp'; mv '$records.tmp' '$records' ;;
esac
EOF
chmod +x "$hook"
lego_dns() {
	EXEC_PATH=$hook EXEC_PROPAGATION_TIMEOUT=10 EXEC_POLLING_INTERVAL=1 EXEC_SEQUENCE_INTERVAL=1 lego_run --dns exec --dns.disable-cp \
		--dns.resolvers "127.0.0.1:$dns_port" "$@"
}
t_check "lego run --dns exec (dns-01): a certificate" lego_dns --domains lego-dns.example.com run
check_cert "lego dns-01" "$lg/certificates/lego-dns.example.com.crt" lego-dns.example.com
t_check "lego run --dns exec (dns-01) for *.wild.example.com and wild.example.com: a certificate" \
	lego_dns --domains '*.wild.example.com' --domains wild.example.com run
check_cert "lego dns-01 wildcard" "$lg/certificates/_.wild.example.com.crt" '\*.wild.example.com'
t_check "lego dns-01 wildcard: it names wild.example.com too" \
	bash -c "openssl x509 -in '$lg/certificates/_.wild.example.com.crt' -noout -ext subjectAltName | grep -qw 'DNS:wild.example.com'"
t_check "lego's hook removed its TXT records" test ! -s "$records"
t_check "lego revoke: accepted" lego_run --domains lego.example.com revoke --keep
t_check "lego: the journal holds it revoked" \
	bash -c "journaled '$lg/certificates/lego.example.com.crt' >/dev/null && jq -e '.status == \"revoked\"' '$T_TMP/cert.json' >/dev/null"

# uacme: http-01 through its hook, which serves the key authorization itself.
ua=$T_TMP/uacme
mkdir -p "$ua/www/.well-known/acme-challenge"
cat >"$ua/hook.sh" <<HOOK
#!/bin/sh
# uacme hook: METHOD TYPE IDENT TOKEN AUTH
[ "\$2" = http-01 ] || exit 1
case "\$1" in
begin) printf '%s' "\$5" >"$ua/www/.well-known/acme-challenge/\$4" ;;
done|failed) rm -f "$ua/www/.well-known/acme-challenge/\$4" ;;
esac
HOOK
chmod +x "$ua/hook.sh"
/usr/bin/python3 -m http.server --bind 127.0.0.1 --directory "$ua/www" "$http_port" >/dev/null 2>&1 &
web=$!
# libcurl-gnutls reads the system bundle only: uacme sees the demo's TLS CA in a bundle mounted over it.
cat /etc/ssl/certs/ca-certificates.crt "$ca" >"$ua/bundle.pem" 2>/dev/null || cp "$ca" "$ua/bundle.pem"
uacme_run() {
	unshare -m sh -c "mount --bind '$ua/bundle.pem' /etc/ssl/certs/ca-certificates.crt &&
		exec uacme -y -v -c '$ua/conf' -a '$dir' -h '$ua/hook.sh' $*" >>"$T_TMP/uacme.log" 2>&1
}
eab
sleep 0.3
t_check "uacme new (EAB): an account" uacme_run -e "$kid:$key" new ops@example.com
t_check "uacme issue (http-01): a certificate" uacme_run -t EC issue uacme.example.com
check_cert uacme "$ua/conf/uacme.example.com/cert.pem" uacme.example.com
cp "$ua/conf/uacme.example.com/cert.pem" "$T_TMP/uacme-1.pem"
t_check "uacme issue --force: renewed" uacme_run -f -t EC issue uacme.example.com
t_check "uacme: the renewed certificate is another one" \
	bash -c "! cmp -s '$T_TMP/uacme-1.pem' '$ua/conf/uacme.example.com/cert.pem'"
check_cert "uacme renewed" "$ua/conf/uacme.example.com/cert.pem" uacme.example.com
# uacme renames a certificate it revoked: its copy is what the journal is asked about.
cp "$ua/conf/uacme.example.com/cert.pem" "$T_TMP/uacme-2.pem"
t_check "uacme revoke: accepted" uacme_run revoke "$ua/conf/uacme.example.com/cert.pem"
t_check "uacme: the journal holds it revoked" \
	bash -c "journaled '$T_TMP/uacme-2.pem' >/dev/null && jq -e '.status == \"revoked\"' '$T_TMP/cert.json' >/dev/null"
kill "$web" 2>/dev/null; wait "$web" 2>/dev/null

# What stock clients never send: each refused with its ACME error, nothing issued.
before=$(issued_count)
neg() { # SCENARIO [EAB ARGS] -- [SCENARIO ARGS]
	local s=$1; shift
	eab "$@" || return 1
	/usr/bin/python3 "$client" "$s" "$dir" "$ca" "$kid" "$key" neg.example.com "$http_port" 2>>"$T_TMP/neg.log"
}
t_check "a JWS whose signature does not verify: malformed" neg bad-signature
t_check "a nonce used twice: badNonce" neg replayed-nonce
t_check "a JWS url that is not the request's: unauthorized" neg url-mismatch
t_check "a name outside the EAB key's suffixes: rejectedIdentifier" neg outside-eab --dns-suffix other.example.com
t_check "a challenge answered with the wrong key authorization: incorrectResponse, order invalid" \
	neg wrong-key-authorization
t_check "account keys of a refused type (P-521, RSA-1024): badSignatureAlgorithm, badPublicKey" neg refused-key-types
neg_dns() {
	eab || return 1
	/usr/bin/python3 "$client" wrong-dns-txt "$dir" "$ca" "$kid" "$key" '*.neg-dns.example.com' "$http_port" \
		"$records" 2>>"$T_TMP/neg.log"
}
t_check "a wildcard's dns-01 answered with the wrong TXT value: incorrectResponse, order invalid" neg_dns
t_check "nothing was issued by the refused requests" test "$(issued_count)" = "$before"

# Renewal information (RFC 9773): the middle third of a current certificate's lifetime, the past once revoked.
t_check "renewalInfo of lego's tls-alpn-01 certificate: the middle third, with Retry-After" \
	/usr/bin/python3 "$client" renewal-info "$dir" "$ca" "$lg/certificates/lego-tls.example.com.crt" middle-third
t_check "renewalInfo of certbot's revoked certificate: a window in the past" \
	/usr/bin/python3 "$client" renewal-info "$dir" "$ca" "$cb/live/certbot.example.com/cert.pem" past

# RFC 8555 7.6's third way: an account that validated lego-tls.example.com itself revokes lego's certificate;
# refused before it holds the authorization. Its orders list (7.1.2.1) holds its order.
tls_crt=$lg/certificates/lego-tls.example.com.crt
tls_serial=$(openssl x509 -in "$tls_crt" -noout -serial | cut -d= -f2 | tr 'A-F' 'a-f')
revoke_by_authz() {
	eab || return 1
	/usr/bin/python3 "$client" revoke-by-authorization "$dir" "$ca" "$kid" "$key" lego-tls.example.com "$http_port" \
		"$tls_crt" 2>>"$T_TMP/neg.log"
}
revoked_by_authz() {
	t_audit export | jq -se "map(select(.type == \"revocation\" and .serial == \"$tls_serial\")) |
		length == 1 and .[0].crl_reason == 4 and
		(.[0].client | test(\"^acme:server/[A-Za-z0-9_-]{22} by authorization\$\"))" >/dev/null
}
t_check "another account: unauthorized; then http-01 valid, its orders list, revoked by authorization; alreadyRevoked" \
	revoke_by_authz
t_check "revoked by authorization: the journal holds it revoked" \
	bash -c "journaled '$tls_crt' >/dev/null && jq -e '.status == \"revoked\"' '$T_TMP/cert.json' >/dev/null"
t_check "revoked by authorization: journaled as the account's, by authorization, superseded" revoked_by_authz
t_check "renewalInfo of the certificate revoked by authorization: a window in the past" \
	/usr/bin/python3 "$client" renewal-info "$dir" "$ca" "$tls_crt" past

# Rotating the issuing key (RFC 9773's other case): a new key and intermediate, the old certificate in
# [ca] retired_certificates; after the restart its certificates are to be replaced at once, and are.
dns_crt=$lg/certificates/lego-dns.example.com.crt
t_check "renewalInfo of lego's dns-01 certificate before the rotation: the middle third" \
	/usr/bin/python3 "$client" renewal-info "$dir" "$ca" "$dns_crt" middle-third
rotate() {
	local tok=signerd-demo ctl=("$BUILD/signerctl" -c "$d/signerd.conf")
	grep -q "^key = pkcs11:token=$tok;object=intermediate-ca\$" "$d/signerd.conf" || return 1
	"${ctl[@]}" keygen --type p256 --key "pkcs11:token=$tok;object=intermediate-2" &&
		"${ctl[@]}" intermediate --key "pkcs11:token=$tok;object=intermediate-2" \
			--issuer-key "pkcs11:token=$tok;object=root-ca" --issuer-cert "$d/ca/root.pem" \
			--subject "/O=signerd demo/CN=signerd demo issuing CA 2" --days 365 --path-len 1 \
			--out "$d/ca/intermediate-2.pem" &&
		"${ctl[@]}" ocsp-responder --key "pkcs11:token=$tok;object=ocsp-responder" \
			--issuer-key "pkcs11:token=$tok;object=intermediate-2" --issuer-cert "$d/ca/intermediate-2.pem" \
			--subject "/O=signerd demo/CN=signerd demo OCSP responder 2" --out "$d/ca/ocsp-responder-2.pem" &&
		cat "$d/ca/intermediate-2.pem" "$d/ca/root.pem" >"$d/ca/chain-2.pem" &&
		chmod 644 "$d/ca/intermediate-2.pem" "$d/ca/ocsp-responder-2.pem" "$d/ca/chain-2.pem" &&
		sed -i -e "s|^key = pkcs11:token=$tok;object=intermediate-ca\$|key = pkcs11:token=$tok;object=intermediate-2|" \
			-e 's|^certificate = ca/intermediate.pem$|certificate = ca/intermediate-2.pem\nretired_certificates = ca/intermediate.pem|' \
			-e 's|^chain = ca/chain.pem$|chain = ca/chain-2.pem|' \
			-e 's|^ocsp_certificate = ca/ocsp-responder.pem$|ocsp_certificate = ca/ocsp-responder-2.pem|' "$d/signerd.conf" &&
		grep -q '^retired_certificates = ca/intermediate.pem$' "$d/signerd.conf"
}
t_check "a new issuing key and certificate; the old one retired" rotate
t_stop
t_check "signerd stopped cleanly before the rotation" test "$T_RC" = 0
# On the same port: lego knows its account by the server's host and port.
if ! T_START_PORT=$T_PORT t_start "$d"; then
	t_fail "signerd starts with the new issuing key" "$(tail -n 3 "$T_TMP/signerd.log")"
fi
t_check "renewalInfo of the retired key's certificate: a window in the past" \
	/usr/bin/python3 "$client" renewal-info "$dir" "$ca" "$dns_crt" past
cp "$dns_crt" "$T_TMP/lego-dns-1.pem"
t_check "lego renews it under the new key" \
	lego_dns --domains lego-dns.example.com renew --days 999 --no-random-sleep
t_check "the renewed certificate is another one" bash -c "! cmp -s '$dns_crt' '$T_TMP/lego-dns-1.pem'"
t_check "it chains to the demo root through the new issuing certificate alone" \
	openssl verify -CAfile "$d/ca/root.pem" -untrusted "$d/ca/intermediate-2.pem" "$dns_crt"
t_check "renewalInfo of the new certificate: the middle third" \
	/usr/bin/python3 "$client" renewal-info "$dir" "$ca" "$dns_crt" middle-third

t_check "the journal verifies" t_audit verify --pubkey "$d/audit.pem"
t_stop
t_check "signerd stopped cleanly" test "$T_RC" = 0
kill "$dns_pid" 2>/dev/null; wait "$dns_pid" 2>/dev/null
for f in signerd certbot lego uacme neg dns; do
	[ "$T_FAILED" = 0 ] || { echo "--- $f.log"; tail -n 20 "$T_TMP/$f.log" 2>/dev/null; }
done
t_done
