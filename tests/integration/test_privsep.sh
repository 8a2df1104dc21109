#!/usr/bin/env bash
# Privilege separation (README, "Privilege separation"): signerd serves
# through signerd-front, a second process that never maps the PKCS#11
# module or LMDB, holds no journal file, never had the HSM environment, and
# runs under a seccomp filter; when one of the two ends, so does the other.
# Started as root with [process] user set, both become that user.
source "$(dirname "$0")/lib.sh"

d=$T_TMP/demo
if ! t_demo "$d" p256; then t_fail "demo state created"; t_done; exit; fi
t_ok "demo state created"

# front_of PID: the one child of signerd.
front_of() { cat "/proc/$1/task/$1/children" 2>/dev/null | tr -d ' '; }

if ! t_start "$d"; then t_fail "signerd starts" "$(tail -n 3 "$T_TMP/signerd.log")"; t_done; exit; fi
t_ok "signerd starts"
front=$(front_of "$T_PID")
t_check "signerd has one child, signerd-front" grep -q 'signerd-front' "/proc/$front/cmdline"
t_check "the log names the front's pid" grep -q "front pid $front" "$T_TMP/signerd.log"
t_csr "$T_TMP/a.csr" ec:P-256 "/CN=a.example.com" "DNS:a.example.com"
t_request "$T_TMP/a.csr" >"$T_TMP/a.json"
t_check "a certificate is issued through the front" test "$(t_sign issuer "$T_TMP/a.json")" = 200
t_check "the auditor reads the journal through the front" test "$(t_get auditor '/v1/audit/records?from=1&limit=5')" = 200

maps_front=$(cat "/proc/$front/maps")
maps_signer=$(cat "/proc/$T_PID/maps")
t_check "the signer maps the PKCS#11 module" grep -q 'libsofthsm2' <<<"$maps_signer"
t_check "the front never maps the PKCS#11 module" bash -c "! grep -q 'libsofthsm2' <<<\"\$0\"" "$maps_front"
t_check "the front maps no PKCS#11 module at all, nor LMDB" bash -c "! grep -Eq '/pkcs11/|p11-kit-proxy|liblmdb' <<<\"\$0\"" "$maps_front"
t_check "the signer holds the journal open" bash -c "ls -l /proc/$T_PID/fd | grep -q 'journal/data.mdb'"
t_check "the front holds no journal file" bash -c "! ls -l /proc/$front/fd | grep -q 'journal/'"
t_check "the front never had the HSM environment (SOFTHSM2_CONF)" bash -c "! tr '\\0' '\\n' </proc/$front/environ | grep -q '^SOFTHSM2_CONF='"
t_check "the front runs under a seccomp filter" grep -q '^Seccomp:[[:space:]]*2' "/proc/$front/status"
t_check "the signer runs under a seccomp filter" grep -q '^Seccomp:[[:space:]]*2' "/proc/$T_PID/status"
t_check "neither can gain privileges (no_new_privs)" bash -c "grep -q '^NoNewPrivs:[[:space:]]*1' /proc/$front/status && grep -q '^NoNewPrivs:[[:space:]]*1' /proc/$T_PID/status"

# The front killed (as a crash would): signerd does not go on without it.
kill -KILL "$front"
for _ in $(seq 1 50); do kill -0 "$T_PID" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$T_PID" 2>/dev/null; then
	t_fail "signerd stops when its front is killed"; t_stop
else
	wait "$T_PID"; rc=$?; T_PID=
	t_check "signerd stops when its front is killed, exit 1" test "$rc" = 1
	t_check "it says how the front ended" grep -q 'signerd-front was killed by signal 9' "$T_TMP/signerd.log"
	"$BUILD/signerctl" -c "$d/signerd.conf" audit export >"$T_TMP/export.jsonl"
	t_check "and journaled its stop all the same (start and stop records)" \
		bash -c "grep -c '\"type\":\"service\"' '$T_TMP/export.jsonl' | grep -qx 2"
fi

# signerd killed: the front, which can no longer reach it, stops too.
if t_start "$d"; then
	front=$(front_of "$T_PID")
	port=$T_PORT
	kill -KILL "$T_PID"; wait "$T_PID" 2>/dev/null; T_PID=
	for _ in $(seq 1 50); do kill -0 "$front" 2>/dev/null || break; sleep 0.1; done
	t_check "the front exits when signerd is killed" bash -c "! kill -0 $front 2>/dev/null"
	t_check "and its port is closed" bash -c "! curl -s --max-time 2 -k https://127.0.0.1:$port/healthz"
else
	t_fail "signerd restarts" "$(tail -n 3 "$T_TMP/signerd.log")"
fi

# Root start: both processes become [process] user.
user=signerd-it
if [ "$(id -u)" -ne 0 ]; then
	echo "not root: the user change is tested by root runs only"
elif ! id "$user" >/dev/null 2>&1 && ! useradd --system --no-create-home --shell /usr/sbin/nologin "$user" 2>"$T_TMP/useradd.err"; then
	t_fail "test user $user created" "$(cat "$T_TMP/useradd.err")"
else
	u=$T_TMP/as-user
	cp -a "$d" "$u"
	sed -i "s|^user = .*|user = $user|" "$u/signerd.conf"
	sed -i "s|$d|$u|g" "$u/signerd.conf" "$u/hsm/softhsm2.conf"
	chown -R "$user:" "$u"
	chmod 711 "$T_TMP"
	chown root: "$u/signerd.conf"
	# Having changed user, the processes are not dumpable and cannot read their own /proc/self/maps,
	# which an ASan build's leak check needs to apply tests/lsan.supp: leaks are checked by the root runs.
	ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
		"$BUILD/signerd" -c "$u/signerd.conf" --port 0 --ready-file "$u/ready" 2>"$T_TMP/user.log" &
	T_PID=$!
	for _ in $(seq 1 100); do [ -s "$u/ready" ] && break; kill -0 "$T_PID" 2>/dev/null || break; sleep 0.1; done
	if [ -s "$u/ready" ]; then
		T_DIR=$u; T_PORT=$(cat "$u/ready"); T_URL="https://127.0.0.1:$T_PORT"
		front=$(front_of "$T_PID")
		uid=$(id -u "$user")
		t_check "the signer runs as $user" grep -Eq "^Uid:[[:space:]]+$uid[[:space:]]+$uid[[:space:]]+$uid[[:space:]]+$uid" "/proc/$T_PID/status"
		t_check "the front runs as $user" grep -Eq "^Uid:[[:space:]]+$uid[[:space:]]+$uid[[:space:]]+$uid[[:space:]]+$uid" "/proc/$front/status"
		t_check "no supplementary groups left" grep -Eq '^Groups:[[:space:]]*$' "/proc/$front/status"
		t_check "it issues as $user" test "$(t_sign issuer "$T_TMP/a.json")" = 200
		t_stop
		if [ "$T_RC" = 0 ]; then t_ok "it stops cleanly"; else t_fail "it stops cleanly" "exit $T_RC: $(tail -n 5 "$T_TMP/user.log")"; fi
	else
		t_fail "signerd started as root with user = $user" "$(tail -n 3 "$T_TMP/user.log")"
		t_stop
	fi
	# A user that does not exist is an error at start, before anything is opened.
	sed -i "s|^user = .*|user = no-such-user-signerd|" "$u/signerd.conf"
	timeout 20 "$BUILD/signerd" -c "$u/signerd.conf" --port 0 >"$T_TMP/nouser.out" 2>&1
	t_check "an unknown [process] user: refused at start (exit 1)" test $? = 1
	t_check "and said so" grep -qF 'user \"no-such-user-signerd\": no such user' "$T_TMP/nouser.out"
	chmod 700 "$T_TMP"
fi
t_done
