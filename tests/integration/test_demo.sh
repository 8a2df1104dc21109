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
for f in ca/root.pem ca/chain.pem tls/ca.pem clients/issuer.pem clients/issuer.key clients/auditor.pem clients/auditor.key signerd.conf; do
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
t_done
