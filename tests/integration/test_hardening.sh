#!/usr/bin/env bash
# Process hardening and private files (issue 13): signerd refuses to start
# on a configuration others can access or a journal directory others can
# write to; configuration, PIN and TLS key may reach it through symlinks
# (a Kubernetes secret volume, systemd credentials) when the files they end
# at pass the checks; the running daemon has umask 077 and no core files.
source "$(dirname "$0")/lib.sh"

d=$T_TMP/demo
if ! t_demo "$d" p256; then t_fail "demo state created"; t_done; exit; fi
t_ok "demo state created"

# start_fails NAME NEEDLE: signerd exits at start and says NEEDLE.
start_fails() {
	timeout 20 "$BUILD/signerd" -c "$d/signerd.conf" --port 0 >"$T_TMP/start.out" 2>&1
	local rc=$?
	t_check "$1: refused at start (exit 1)" test "$rc" = 1
	t_check "$1: the reason is given" grep -q "$2" "$T_TMP/start.out"
}

chmod 644 "$d/signerd.conf"
start_fails "configuration readable by others" "configuration $d/signerd.conf is accessible by others (mode 0644"
chmod 600 "$d/signerd.conf"
mkdir -p "$d/journal"
chmod 0777 "$d/journal"
start_fails "journal directory writable by others" "journal directory .*journal is writable by group or others"
chmod 0700 "$d/journal"
chmod 644 "$d/hsm/user.pin"
start_fails "PIN file readable by others" "PIN file .* must not be accessible by group or others"
chmod 600 "$d/hsm/user.pin"

# The layout of a Kubernetes secret volume: name -> ..data/name, ..data -> a timestamped directory.
sec=$T_TMP/secret
mkdir -p "$sec/..2026_12_06"
cp "$d/hsm/user.pin" "$d/tls/server.key" "$sec/..2026_12_06/"
chmod 600 "$sec/..2026_12_06/"*
ln -s ..2026_12_06 "$sec/..data"
ln -s ..data/user.pin "$sec/user.pin"
ln -s ..data/server.key "$sec/server.key"
sed -i -e "s|^pin_file = .*|pin_file = $sec/user.pin|" -e "s|^tls_key = .*|tls_key = $sec/server.key|" "$d/signerd.conf"
cp "$d/signerd.conf" "$T_TMP/real.conf"
chmod 600 "$T_TMP/real.conf"
sed -i "s|^path = journal|path = $d/journal|" "$T_TMP/real.conf"
mv "$T_TMP/real.conf" "$d/signerd.conf.real"
ln -sf "$d/signerd.conf.real" "$d/signerd.conf"
if t_start "$d"; then
	t_ok "configuration, PIN and TLS key through symlinks: signerd starts"
	t_check "it serves" test "$(t_get none /healthz)" = 200
	t_check "umask 077" grep -q '^Umask:[[:space:]]*0077' "/proc/$T_PID/status"
	t_check "no core files (RLIMIT_CORE 0)" bash -c "grep '^Max core file size' /proc/$T_PID/limits | grep -Eq '[[:space:]]0[[:space:]]+0[[:space:]]'"
	t_check "the ready file it wrote is private" test "$(stat -c %a "$T_TMP/ready")" = 600
	t_stop
	t_check "signerd stopped cleanly" test "$T_RC" = 0
else
	t_fail "configuration, PIN and TLS key through symlinks: signerd starts" "$(tail -n 3 "$T_TMP/signerd.log")"
fi

# A link to a PIN file others can read is a PIN others can read.
chmod 644 "$sec/..2026_12_06/user.pin"
start_fails "symlinked PIN whose target is readable by others" "PIN file .* must not be accessible by group or others"
t_done
