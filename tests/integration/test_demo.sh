#!/usr/bin/env bash
# `make run`'s promise: the demo script creates its state, starts signerd,
# and the recipe it prints, pasted as is into a shell, yields a certificate
# that `openssl verify` accepts. A second start reuses the state.
set -u
. "$(dirname "$0")/lib.sh"

d="$T_TMP/demo"
port=$((20000 + RANDOM % 20000))
DEMO_DIR="$d" PORT=$port BUILD="$BUILD" bash "$here/packaging/demo.sh" run >"$T_TMP/run.out" 2>"$T_TMP/run.err" &
T_PID=$!
for _ in $(seq 1 300); do
	grep -q '"msg":"serving' "$T_TMP/run.err" 2>/dev/null && break
	kill -0 "$T_PID" 2>/dev/null || break
	sleep 0.1
done
if grep -q '"msg":"serving' "$T_TMP/run.err"; then
	t_ok "demo.sh run starts signerd on port $port"
else
	t_fail "demo.sh run starts signerd" "$(tail -n 5 "$T_TMP/run.err")"
fi

# The recipe is the indented block between "in another shell:" and "Journal:".
sed -n '/in another shell:/,/^Journal:/p' "$T_TMP/run.out" | sed '1d;$d' >"$T_TMP/recipe.sh"
t_check "the recipe mentions the demo paths" grep -q "$d/clients/issuer.pem" "$T_TMP/recipe.sh"
(cd "$T_TMP" && bash -e "$T_TMP/recipe.sh") >"$T_TMP/recipe.out" 2>&1
t_check "the printed recipe yields a verified certificate" grep -q 'demo.pem: OK' "$T_TMP/recipe.out"
for f in ca/root.pem ca/chain.pem tls/ca.pem clients/issuer.pem clients/issuer.key clients/auditor.pem clients/auditor.key \
	clients/revoker.pem clients/revoker.key signerd.conf; do
	t_check "demo path $f exists" test -s "$d/$f"
done
t_check "the PIN file is mode 0600" test "$(stat -c %a "$d/hsm/user.pin")" = 600
t_check "the client keys are mode 0600" test "$(stat -c %a "$d/clients/issuer.key")" = 600
t_stop

# Second run reuses the state: same root certificate, no new token.
cp "$d/ca/root.pem" "$T_TMP/root-before.pem"
DEMO_DIR="$d" PORT=$port BUILD="$BUILD" bash "$here/packaging/demo.sh" init >"$T_TMP/init2.out" 2>&1
t_check "a second run reuses the state" cmp "$d/ca/root.pem" "$T_TMP/root-before.pem"
t_check "a second run creates nothing" bash -c "! grep -q 'creating state' '$T_TMP/init2.out'"
t_check "a second run leaves the pinned clients as they were" bash -c "! grep -q 'pinned' '$T_TMP/init2.out'"

# A state made before clients were pinned: no revoker, an issuer certificate
# without its SPIFFE ID, [client] sections by CN. init upgrades it, and the
# issuer, with its new certificate, signs again.
sed -i '/^# Pinned by key/,$d' "$d/signerd.conf"
printf '[client issuer]\nroles = issuer\nprofiles = server, client, spiffe-workload\n\n[client admin]\nroles = issuer, admin\nprofiles = subordinate-ca\n\n[client auditor]\nroles = auditor\n' >>"$d/signerd.conf"
rm -f "$d/clients/revoker.pem" "$d/clients/revoker.key"
openssl x509 -req -in <(openssl x509 -x509toreq -in "$d/clients/issuer.pem" -signkey "$d/clients/issuer.key" 2>/dev/null) \
	-CA "$d/tls/client-ca.pem" -CAkey "$d/tls/client-ca.key" -set_serial 7 -days 30 -out "$T_TMP/old-issuer.pem" 2>/dev/null &&
	cp "$T_TMP/old-issuer.pem" "$d/clients/issuer.pem"
DEMO_DIR="$d" PORT=$port BUILD="$BUILD" bash "$here/packaging/demo.sh" init >"$T_TMP/init3.out" 2>&1
t_check "an older state is upgraded, and says so" grep -q 'added client revoker and pinned the demo clients' "$T_TMP/init3.out"
t_check "upgrade: the revoker's certificate" test -s "$d/clients/revoker.pem"
t_check "upgrade: the issuer's new certificate carries its SPIFFE ID" \
	bash -c "openssl x509 -in '$d/clients/issuer.pem' -noout -ext subjectAltName | grep -q 'URI:spiffe://signerd.demo/issuer'"
t_check "upgrade: every client is pinned to its certificate's key" bash -c "
	for who in issuer admin auditor revoker; do
		sed -n \"/^\\[client \$who\\]/,/^\$/p\" '$d/signerd.conf' | grep -qx \"spki_sha256 = \$(openssl x509 -in '$d/clients/'\$who.pem -noout -pubkey |
			openssl pkey -pubin -outform DER | openssl dgst -sha256 -r | cut -d' ' -f1)\" || exit 1
	done"
t_check "upgrade: each [client] section once" test "$(grep -c '^\[client ' "$d/signerd.conf")" = 4
if t_start "$d"; then
	t_csr "$T_TMP/u.csr" ec:P-256 "/CN=u.example.com" "DNS:u.example.com"
	t_request "$T_TMP/u.csr" server >"$T_TMP/u.json"
	t_check "upgrade: the issuer signs with its new certificate" test "$(t_sign issuer "$T_TMP/u.json")" = 200
	t_check "upgrade: the revoker is known and has no route (403)" test "$(t_sign revoker "$T_TMP/u.json")" = 403
	t_stop
else
	t_fail "upgrade: signerd starts" "$(tail -n 3 "$T_TMP/signerd.log")"
fi
t_done
