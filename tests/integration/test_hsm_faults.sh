#!/usr/bin/env bash
# HSM faults while signerd serves: the demo's SoftHSM token behind
# tests/modules/faulty.so, bursts of concurrent sign requests while faults
# are injected and cleared. Every request ends 200 (with a certificate that
# verifies and carries the CSR's key) or 503 (with Retry-After and a problem
# body); /readyz says why while the token is unusable; service resumes
# without a restart. The demo signs with session copies of the CA key
# ([hsm] session_keys): a token that forbids copies falls back to the token
# key. Then the SoftHSM token directory moved away and back, with and
# without session copies.
set -u
. "$(dirname "$0")/lib.sh"

FAULTY="$BUILD/tests/modules/faulty.so"
SOFTHSM=/usr/lib/softhsm/libsofthsm2.so
BURST=8
D="$T_TMP/demo"
CONTROL="$T_TMP/faults"
FAULT_LOG="$T_TMP/faults.log"

faults() { printf '%s' "$1" >"$CONTROL.new" && mv "$CONTROL.new" "$CONTROL"; }

health() { t_curl "$T_TMP/health.json" "$T_URL/readyz"; }

# Poll /readyz until it answers $1, at most $2 seconds.
health_becomes() {
	local want=$1 secs=$2 i
	for i in $(seq 1 $((secs * 10))); do
		[ "$(health)" = "$want" ] && return 0
		sleep 0.1
	done
	return 1
}

# Classify a burst in $1: every answer 200 (verified) or 503 (Retry-After, problem).
# Sets N200 and N503; reports a failure for anything else.
check_burst() {
	local label=$1 dir=$2 i code bad=0 why=""
	N200=0 N503=0
	for i in $(seq 1 "$BURST"); do
		code=$(cat "$dir/$i.code" 2>/dev/null)
		case "$code" in
		200)
			jq -r .certificate "$dir/$i.body" >"$dir/$i.pem" 2>/dev/null
			if ! openssl verify -x509_strict -CAfile "$D/ca/root.pem" -untrusted "$D/ca/chain.pem" "$dir/$i.pem" \
				>"$dir/$i.verify" 2>&1; then
				bad=1; why="$why #$i does not verify: $(tail -n 1 "$dir/$i.verify");"
			elif [ "$(openssl x509 -in "$dir/$i.pem" -noout -pubkey)" != "$CSR_PUB" ]; then
				bad=1; why="$why #$i carries another key;"
			else
				N200=$((N200 + 1))
			fi
			;;
		503)
			if ! grep -qi '^Retry-After: *[0-9]' "$dir/$i.hdr"; then
				bad=1; why="$why #$i 503 without Retry-After;"
			elif [ "$(jq -r .type "$dir/$i.body" 2>/dev/null)" != urn:signerd:problem:hsm-unavailable ] ||
				[ -z "$(jq -r '.detail // empty' "$dir/$i.body" 2>/dev/null)" ]; then
				bad=1; why="$why #$i 503 body: $(head -c 200 "$dir/$i.body");"
			else
				N503=$((N503 + 1))
			fi
			;;
		*) bad=1; why="$why #$i status '$code' $(cat "$dir/$i.err");" ;;
		esac
	done
	if [ "$bad" -eq 0 ]; then
		t_ok "$label: $BURST answers, $N200 x 200 verified, $N503 x 503 with Retry-After"
	else
		t_fail "$label" "$why"
	fi
}

burst() { # label [want: all200 | all503 | any]
	local label=$1 want=${2:-any}
	t_burst "$T_TMP/burst" "$BURST" "$T_TMP/req.json"
	check_burst "$label" "$T_TMP/burst"
	case "$want" in
	all200) t_check "$label: all succeeded" test "$N200" -eq "$BURST" ;;
	all503) t_check "$label: all refused with 503" test "$N503" -eq "$BURST" ;;
	esac
}

# An outage: faults $2 make every request fail; /readyz names $3; clearing heals.
outage() {
	local label=$1 rules=$2 reason=$3
	faults "$rules"
	burst "$label: during" all503
	t_check "$label: /readyz 503 while down" test "$(health)" = 503
	t_check "$label: /healthz 200 all the while (liveness only)" \
		test "$(t_curl "$T_TMP/live.json" "$T_URL/healthz")" = 200
	t_check "$label: /readyz names the reason ($reason)" grep -q "$reason" "$T_TMP/health.json"
	t_check "$label: /readyz 503 has Retry-After" \
		bash -c "curl -sS --max-time 10 --cacert '$D/tls/ca.pem' -D - -o /dev/null '$T_URL/readyz' | grep -qi '^Retry-After: *[0-9]'"
	faults ""
	t_check "$label: /readyz back to 200 without a restart" health_becomes 200 10
	burst "$label: after clearing" all200
}

t_demo "$D" p256 || { t_fail "demo state"; t_done; exit 1; }
t_csr "$T_TMP/req.csr" ec:P-256 "/CN=burst.example.com" "DNS:burst.example.com"
t_request "$T_TMP/req.csr" >"$T_TMP/req.json"
CSR_PUB=$(openssl req -in "$T_TMP/req.csr" -noout -pubkey)
cp "$D/signerd.conf" "$T_TMP/plain.conf"

# --- faults injected through faulty.so ---
if [ ! -f "$FAULTY" ]; then
	t_fail "faulty.so built" "$FAULTY missing (make $FAULTY)"
	t_done; exit 1
fi
faults ""
t_conf_module "$D/signerd.conf" "$FAULTY" "FAULTY_CONTROL=$CONTROL" "FAULTY_MODULE=$SOFTHSM" "FAULTY_LOG=$FAULT_LOG"
t_start "$D" || { t_fail "signerd starts on faulty.so"; t_done; exit 1; }
burst "no faults" all200

faults "C_Sign CKR_SESSION_HANDLE_INVALID once"
burst "session handle invalid once" all200
t_check "session handle invalid once: injected exactly once" test "$(grep -c '^C_Sign ' "$FAULT_LOG")" -eq 1

faults "C_SignInit CKR_USER_NOT_LOGGED_IN once"
burst "user not logged in once" all200

faults "C_Sign CKR_CRYPTOKI_NOT_INITIALIZED once"
burst "cryptoki not initialized once (module re-initialised)" all200

outage "device error always" "C_Sign CKR_DEVICE_ERROR always" CKR_DEVICE_ERROR
outage "device removed always (every function)" "* CKR_DEVICE_REMOVED always" CKR_DEVICE_REMOVED
outage "user not logged in always" "C_Sign CKR_USER_NOT_LOGGED_IN always" CKR_USER_NOT_LOGGED_IN
outage "cryptoki not initialized always" "* CKR_CRYPTOKI_NOT_INITIALIZED always" CKR_CRYPTOKI_NOT_INITIALIZED

# Faults flipping while a burst is in flight: each request still ends 200 or 503.
(
	for r in "C_Sign CKR_DEVICE_ERROR always" "" "* CKR_DEVICE_REMOVED always" "" \
		"C_Sign CKR_SESSION_HANDLE_INVALID once" ""; do
		faults "$r"; sleep 0.3
	done
) &
flipper=$!
BURST=16 burst "faults flipping during a burst"
wait "$flipper"
faults ""
t_check "after the flipping: /readyz 200" health_becomes 200 10
burst "after the flipping" all200

# The demo signs with session copies of the CA key ([hsm] session_keys = true).
# A token that forbids copying: after a session fault the fresh session signs
# with the token object; one log line, then silence; service never stops.
CA_URI=$(sed -n 's/^key = //p' "$D/signerd.conf" | head -n 1)
t_check "demo config: session_keys = true" grep -q '^session_keys = true$' "$D/signerd.conf"
faults "C_CopyObject 0x1b always
C_Sign CKR_SESSION_HANDLE_INVALID once"
burst "copy prohibited, session fault" all200
burst "copy prohibited, again" all200
faults "C_CopyObject 0x1b always
C_SignInit CKR_SESSION_HANDLE_INVALID once"
burst "copy prohibited, another session fault" all200
t_check "copy prohibited: C_CopyObject refusals injected" grep -q '^C_CopyObject ' "$FAULT_LOG"
t_check "copy prohibited: logged once for the CA key" \
	test "$(grep -cF "hsm: key $CA_URI: no session copy (C_CopyObject: CKR_ACTION_PROHIBITED)" "$T_TMP/signerd.log")" -eq 1
faults ""
burst "copy allowed again (token key until restart)" all200

t_check "signerd still running" kill -0 "$T_PID"
t_check "log: 'HSM unavailable' once per outage (at least 4)" \
	test "$(grep -c 'HSM unavailable: ' "$T_TMP/signerd.log")" -ge 4
t_check "log: as many 'HSM recovered' as 'HSM unavailable'" \
	test "$(grep -c 'HSM recovered' "$T_TMP/signerd.log")" -eq "$(grep -c 'HSM unavailable: ' "$T_TMP/signerd.log")"
t_check "log: no PIN in the log" bash -c "! grep -qF \"\$(cat '$D/hsm/user.pin')\" '$T_TMP/signerd.log'"
cp "$T_TMP/signerd.log" "$T_TMP/faulty-signerd.log"
t_stop
t_check "signerd stops cleanly" test "$T_RC" -eq 0

# --- the SoftHSM token directory moved away and back (plain SoftHSM) ---
# Signing with the token key reads the token's files: requests fail at once.
sed 's/^session_keys = true$/session_keys = false/' "$T_TMP/plain.conf" >"$D/signerd.conf"
t_start "$D" || { t_fail "signerd starts on SoftHSM"; t_done; exit 1; }
burst "token directory in place" all200
mv "$D/hsm/tokens" "$D/hsm/tokens.away"
burst "token directory moved away" all503
t_check "token directory away: /readyz 503" test "$(health)" = 503
t_check "token directory away: /readyz has a reason" test -n "$(jq -r '.detail // empty' "$T_TMP/health.json")"
mv "$D/hsm/tokens.away" "$D/hsm/tokens"
t_check "token directory back: /readyz 200 without a restart" health_becomes 200 10
burst "token directory back" all200
t_stop
t_check "signerd stops cleanly after the token came back" test "$T_RC" -eq 0

# With session copies the key lives in the open sessions: signing may go on
# until /readyz finds the token gone; from then on 503 until it is back.
cp "$T_TMP/plain.conf" "$D/signerd.conf"
t_start "$D" || { t_fail "signerd starts on SoftHSM (session keys)"; t_done; exit 1; }
burst "session keys: token directory in place" all200
mv "$D/hsm/tokens" "$D/hsm/tokens.away"
burst "session keys: token directory moved away"
t_check "session keys: token directory away: /readyz 503" test "$(health)" = 503
# Whichever notices first (a signature or /readyz's C_GetTokenInfo) names the reason.
t_check "session keys: token directory away: /readyz has a reason" test -n "$(jq -r '.detail // empty' "$T_TMP/health.json")"
burst "session keys: token directory away, after /readyz noticed" all503
mv "$D/hsm/tokens.away" "$D/hsm/tokens"
t_check "session keys: token directory back: /readyz 200 without a restart" health_becomes 200 10
burst "session keys: token directory back" all200
t_check "session keys: log: HSM unavailable, then recovered" \
	bash -c "grep -q 'HSM unavailable: token signerd-demo: ' '$T_TMP/signerd.log' && grep -q 'HSM recovered' '$T_TMP/signerd.log'"
t_stop
t_check "session keys: signerd stops cleanly after the token came back" test "$T_RC" -eq 0

# --- a CA key that can leave the token is refused at startup ---
# OpenSC's pkcs11-tool can make an extractable key; without it this part is skipped
# (tests/test_hsm.c covers the refusal in hsm_key_find() either way).
if command -v pkcs11-tool >/dev/null 2>&1; then
	SOFTHSM2_CONF="$D/hsm/softhsm2.conf" pkcs11-tool --module "$SOFTHSM" --token-label signerd-demo \
		--login --pin "$(cat "$D/hsm/user.pin")" --keypairgen --key-type EC:prime256v1 \
		--label extractable-ca --id 0e0e --extractable >"$T_TMP/p11.log" 2>&1 ||
		t_fail "pkcs11-tool makes an extractable key" "$(tail -n 2 "$T_TMP/p11.log")"
	sed -i 's|^key = .*|key = pkcs11:token=signerd-demo;object=extractable-ca|' "$D/signerd.conf"
	"$BUILD/signerd" -c "$D/signerd.conf" --port 0 >"$T_TMP/unsafe.out" 2>"$T_TMP/unsafe.log"
	rc=$?
	t_check "extractable CA key: signerd exits 1" test "$rc" -eq 1
	t_check "extractable CA key: the message says why" \
		grep -q 'key pkcs11:token=signerd-demo;object=extractable-ca is extractable: its private part can leave the token' "$T_TMP/unsafe.log"
	"$BUILD/signerctl" -c "$D/signerd.conf" hsm keys >"$T_TMP/keys.txt" 2>&1
	t_check "signerctl hsm keys marks it unusable as a CA key" grep -q 'extractable-ca.*no: extractable' "$T_TMP/keys.txt"
	t_check "signerctl hsm keys marks the demo CA key usable" grep -q 'intermediate-ca.*yes' "$T_TMP/keys.txt"
	cp "$T_TMP/plain.conf" "$D/signerd.conf"
else
	echo "# skip: pkcs11-tool (OpenSC) not installed: no extractable key to refuse"
fi

t_done
