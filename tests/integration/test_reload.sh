#!/usr/bin/env bash
# SIGHUP reloads profiles, clients and the client CRL in both processes,
# atomically: a new client gains its rights, a removed one loses them, a
# revoked certificate is refused, each applied file is journaled with its
# SHA-256; a broken file or one that changes what only a restart can is
# refused with a precise log line and the configuration in force stays.
# Requests in flight during a reload all complete.
source "$(dirname "$0")/lib.sh"

d=$T_TMP/demo
if ! t_demo "$d" p256; then t_fail "demo state created"; t_done; exit; fi
conf=$d/signerd.conf

# newbie: a client certificate from the client CA that no [client] names yet.
cat >"$T_TMP/newbie.tmpl" <<TMPL
cn = "newbie"
serial = 4545
expiration_days = 2
tls_www_client
signing_key
TMPL
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T_TMP/newbie.key" \
	-out "$T_TMP/newbie.csr" -subj "/CN=newbie" 2>/dev/null
certtool --generate-certificate --load-request "$T_TMP/newbie.csr" --load-ca-certificate "$d/tls/client-ca.pem" \
	--load-ca-privkey "$d/tls/client-ca.key" --template "$T_TMP/newbie.tmpl" --outfile "$T_TMP/newbie.pem" \
	>"$T_TMP/certtool.log" 2>&1
t_csr "$T_TMP/a.csr" ec:P-256 "/CN=a.example.com" "DNS:a.example.com"
t_request "$T_TMP/a.csr" >"$T_TMP/a.json"

if ! t_start "$d"; then t_fail "signerd starts" "$(tail -n 3 "$T_TMP/signerd.log")"; t_done; exit; fi
front=$(pgrep -P "$T_PID" -x signerd-front)

# hup WHAT: SIGHUP, then wait for signerd's verdict on it (the next "reload" line of the log).
hup() {
	local before
	before=$(grep -c '"msg":"reload' "$T_TMP/signerd.log")
	kill -HUP "$T_PID"
	for _ in $(seq 1 100); do
		[ "$(grep -c '"msg":"reload' "$T_TMP/signerd.log")" -gt "$before" ] && break
		sleep 0.1
	done
	grep '"msg":"reload' "$T_TMP/signerd.log" | tail -n 1 >"$T_TMP/verdict"
}
# The service records' seqs, read with a copy of the demo's configuration (the one being edited may be broken).
cp "$conf" "$d/ctl.conf"
reloads() { "$BUILD/signerctl" -c "$d/ctl.conf" audit export 2>/dev/null | jq -r 'select(.type == "service") | .seq'; }
issued() { # the issuer's issuances, as /metrics counts them
	t_get auditor /metrics >/dev/null
	awk '$1 == "signerd_issued_total{profile=\"server\",client=\"issuer\"}" { print $2 }' "$T_TMP/body"
}

t_check "before: newbie is no client (403)" test "$(t_sign "$T_TMP/newbie" "$T_TMP/a.json")" = 403
t_check "issuer issues" test "$(t_sign issuer "$T_TMP/a.json")" = 200
issued0=$(issued)

# 1. A new client, applied while requests are in flight.
printf '\n[client newbie]\nroles = issuer\nprofiles = server\n' >>"$conf"
T_BURST_MAX_TIME=30 t_burst "$T_TMP/during" 16 "$T_TMP/a.json" &
burst=$!
hup
wait "$burst"
t_check "new client: reloaded" grep -q '"level":"info".*"msg":"reloaded .*signerd.conf: [0-9]* profiles, [0-9]* clients"' "$T_TMP/verdict"
t_check "new client: newbie issues (200)" test "$(t_sign "$T_TMP/newbie" "$T_TMP/a.json")" = 200
t_check "requests in flight during the reload: all 16 served (200)" \
	test "$(grep -lx 200 "$T_TMP"/during/*.code | wc -l)" = 16
seq=$(reloads | tail -n 1)
"$BUILD/signerctl" -c "$conf" audit show "$seq" >"$T_TMP/show.txt" 2>&1
t_check "the reload is journaled: a service record, event reload" grep -qE '^event +reload' "$T_TMP/show.txt"
t_check "with the SHA-256 of the file now in force" \
	grep -qE "^config_sha256 +$(sha256sum "$conf" | cut -d' ' -f1)" "$T_TMP/show.txt"

# 2. A broken file: refused, said why, the one in force stays.
cp "$conf" "$T_TMP/good.conf"
printf '\n[client broken\nroles = issuer\n' >>"$conf"
hup
t_check "broken file: refused, naming the line" grep -q '"level":"error".*reload refused, the configuration in force stays: .*signerd.conf' "$T_TMP/verdict"
t_check "broken file: newbie still issues" test "$(t_sign "$T_TMP/newbie" "$T_TMP/a.json")" = 200
t_check "broken file: nothing journaled" test "$(reloads | tail -n 1)" = "$seq"

# 3. A key only a restart applies: refused, naming it.
cp "$T_TMP/good.conf" "$conf"
sed -i 's/^origin = .*/origin = elsewhere\/journal/' "$conf"
hup
t_check "[journal] origin changed: refused, naming the key" \
	grep -q '\[journal\] origin changed: only a restart applies it' "$T_TMP/verdict"
t_check "and the service goes on" test "$(t_sign issuer "$T_TMP/a.json")" = 200

# 4. A client removed loses its rights at once, on a connection that has verified already too.
cp "$T_TMP/good.conf" "$conf"
sed -i '/^\[client newbie\]$/,$d' "$conf"
hup
t_check "client removed: reloaded" grep -q '"msg":"reloaded' "$T_TMP/verdict"
t_check "client removed: newbie refused (403)" test "$(t_sign "$T_TMP/newbie" "$T_TMP/a.json")" = 403

# 5. A client CRL added by a reload: the revoked certificate is refused, the others are served.
cp "$T_TMP/good.conf" "$conf"
printf 'crl_next_update = 7\ncrl_number = 1\n' >"$T_TMP/crl.tmpl"
certtool --generate-crl --load-ca-privkey "$d/tls/client-ca.key" --load-ca-certificate "$d/tls/client-ca.pem" \
	--load-certificate "$T_TMP/newbie.pem" --template "$T_TMP/crl.tmpl" --outfile "$T_TMP/client.crl" \
	>"$T_TMP/crl.log" 2>&1
sed -i "s|^client_ca = .*|&\nclient_crl = $T_TMP/client.crl|" "$conf"
hup
t_check "CRL added: reloaded" grep -q '"msg":"reloaded' "$T_TMP/verdict"
t_check "CRL added: the revoked newbie is refused (401 revoked)" \
	bash -c "test \"\$(curl -sS --max-time 10 --cacert '$d/tls/ca.pem' --cert '$T_TMP/newbie.pem' --key '$T_TMP/newbie.key' \
		-H 'Content-Type: application/json' --data-binary @'$T_TMP/a.json' -o '$T_TMP/rev.json' -w '%{http_code}' \
		'$T_URL/v1/sign')\" = 401 && grep -q revoked '$T_TMP/rev.json'"
t_check "CRL added: the issuer is served" test "$(t_sign issuer "$T_TMP/a.json")" = 200
# A CRL that does not load: refused, the one in force stays.
echo garbage >"$T_TMP/bad.crl"
sed -i "s|^client_crl = .*|client_crl = $T_TMP/bad.crl|" "$conf"
hup
t_check "unloadable CRL: refused, naming the file" grep -q 'reload refused.*client CRL .*bad.crl' "$T_TMP/verdict"
t_check "unloadable CRL: newbie still refused" test "$(t_sign "$T_TMP/newbie" "$T_TMP/a.json")" = 401

# 6. The counters go on across reloads; a SIGHUP to the front alone changes nothing.
t_check "metrics after the reloads: each of the issuer's 18 issuances since counted once" \
	test "$(issued)" = $((issued0 + 18))
kill -HUP "$front"
sleep 0.3
t_check "SIGHUP to signerd-front alone: it goes on serving" test "$(t_sign issuer "$T_TMP/a.json")" = 200
t_stop
t_check "signerd stops cleanly" test "$T_RC" = 0
t_check "the journal verifies" "$BUILD/signerctl" -c "$conf" audit verify --pubkey "$d/audit.pem"
t_check "the log is JSON lines" jq -e 'has("msg")' "$T_TMP/signerd.log"
t_done
