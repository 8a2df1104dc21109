#!/usr/bin/env bash
# The Debian package (issue 13, "Packaging"): `make deb` builds it (or finds
# it up to date), lintian reports no error, it holds the programs, the
# configuration as a conffile others cannot read, the unit, the user and the
# state directory, the man pages; the extracted programs run; the unit
# verifies and rates 2.0 or better in `systemd-analyze security`.
# With SIGNERD_TEST_INSTALL=1 as root (CI sets it; never a developer's
# machine), the package is installed with dpkg -i and set up as the README's
# "Install on a server" says, with a SoftHSM token in /var/lib/signerd:
# signerd serves a certificate as the signerd user, reading the PIN as the
# unit's credential, and makes only system calls the unit allows. Then the
# package is purged and what the test made is removed.
set -u
source "$(dirname "$0")/lib.sh"

version=$(cat "$here/VERSION")
deb=$BUILD/deb/signerd_${version}_$(dpkg --print-architecture).deb

# make rebuilds the package only when a source is newer than it.
if env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -C "$here" --no-print-directory BUILD="$BUILD" deb \
	>"$T_TMP/deb.log" 2>&1 && [ -f "$deb" ]; then
	t_ok "make deb: $(basename "$deb")"
else
	t_fail "make deb" "$(tail -n 20 "$T_TMP/deb.log")"
	t_done
	exit
fi

lintian --fail-on error --display-info "$deb" >"$T_TMP/lintian.out" 2>&1
rc=$?
grep -v 'root privileges' "$T_TMP/lintian.out" | sed 's/^/  lintian: /'
t_check "lintian reports no error" test "$rc" = 0

# dpkg-deb -c: "MODE OWNER SIZE DATE TIME ./PATH".
dpkg-deb -c "$deb" >"$T_TMP/contents"
for entry in "-rwxr-xr-x usr/sbin/signerd" "-rwxr-xr-x usr/bin/signerctl" \
	"-rwxr-xr-x usr/libexec/signerd/signerd-front" "-rwxr-xr-x usr/libexec/signerd/signerd-push" \
	"-rw-r----- etc/signerd/signerd.conf" "-rw-r--r-- lib/systemd/system/signerd.service" \
	"-rw-r--r-- usr/lib/sysusers.d/signerd.conf" "-rw-r--r-- usr/lib/tmpfiles.d/signerd.conf" \
	"-rw-r--r-- usr/share/man/man8/signerd.8.gz" "-rw-r--r-- usr/share/man/man1/signerctl.1.gz" \
	"-rw-r--r-- usr/share/man/man5/signerd.conf.5.gz"; do
	t_check "package holds /${entry#* } (${entry%% *} root/root)" \
		awk -v m="${entry%% *}" -v p="./${entry#* }" '$1 == m && $2 == "root/root" && $6 == p { f = 1 } END { exit !f }' \
		"$T_TMP/contents"
done
dpkg-deb -e "$deb" "$T_TMP/control"
t_check "the configuration is a conffile" grep -qx /etc/signerd/signerd.conf "$T_TMP/control/conffiles"
t_check "postinst makes the signerd user" grep -q 'systemd-sysusers .*signerd.conf' "$T_TMP/control/postinst"
t_check "postinst gives the configuration to group signerd, mode 0640" \
	grep -q 'dpkg-statoverride --update --add root signerd 0640 /etc/signerd/signerd.conf' "$T_TMP/control/postinst"

x=$T_TMP/extracted
dpkg -x "$deb" "$x"
t_check "signerd --version prints 'signerd $version'" test "$("$x/usr/sbin/signerd" --version)" = "signerd $version"
t_check "signerctl --version prints 'signerctl $version'" test "$("$x/usr/bin/signerctl" --version)" = "signerctl $version"
t_check "signerctl --help exits 0 with the usage" bash -c "'$x/usr/bin/signerctl' --help | grep -q '^usage: signerctl'"
t_check "signerd --help exits 0 with the usage" bash -c "'$x/usr/sbin/signerd' --help | grep -q '^usage: signerd'"
t_check "the unit is packaging/signerd.service" cmp "$x/lib/systemd/system/signerd.service" "$here/packaging/signerd.service"
t_check "the configuration is packaging/signerd.conf.example" cmp "$x/etc/signerd/signerd.conf" "$here/packaging/signerd.conf.example"
t_check "sysusers: system user signerd, home /var/lib/signerd" \
	grep -Eq '^u signerd - ".*" /var/lib/signerd$' "$x/usr/lib/sysusers.d/signerd.conf"
t_check "tmpfiles: /var/lib/signerd 0700 signerd:signerd" \
	grep -Eq '^d /var/lib/signerd 0700 signerd signerd -$' "$x/usr/lib/tmpfiles.d/signerd.conf"
for page in man8/signerd.8.gz man1/signerctl.1.gz man5/signerd.conf.5.gz; do
	man -l --warnings "$x/usr/share/man/$page" >"$T_TMP/man.out" 2>"$T_TMP/man.err"
	t_check "man -l renders $page without warnings" bash -c "grep -q '^NAME' '$T_TMP/man.out' && ! test -s '$T_TMP/man.err'"
done

# The unit: systemd-analyze works without a running systemd (offline).
mkdir -p "$T_TMP/units"
printf '[Service]\nType=exec\nExecStart=/bin/true\n' >"$T_TMP/units/probe.service"
if systemd-analyze verify --man=no "$T_TMP/units/probe.service" >/dev/null 2>&1; then
	# The extracted unit, its ExecStart and man pages pointed at the extracted files.
	sed "s|^ExecStart=/usr/sbin/signerd|ExecStart=$x/usr/sbin/signerd|" "$x/lib/systemd/system/signerd.service" \
		>"$T_TMP/units/signerd.service"
	t_check "systemd-analyze verify signerd.service" \
		env MANPATH="$x/usr/share/man" systemd-analyze verify "$T_TMP/units/signerd.service"
	verify_works=1
else
	echo "skipped: systemd-analyze verify does not work here"
	verify_works=0
fi
systemd-analyze security --offline=true "$x/lib/systemd/system/signerd.service" >"$T_TMP/security.out" 2>&1
score=$(sed -n 's/.*Overall exposure level for signerd.service: \([0-9.]*\) .*/\1/p' "$T_TMP/security.out")
echo "  systemd-analyze security: exposure ${score:-unknown}; remaining:"
grep '✗' "$T_TMP/security.out" | sed -E 's/ {2,}/  /g; s/^/    /'
t_check "systemd-analyze security --offline=true: exposure ${score:-unknown} <= 2.0" \
	awk -v s="${score:-99}" 'BEGIN { exit !(s + 0 <= 2.0) }'

if [ "${SIGNERD_TEST_INSTALL:-0}" != 1 ] || [ "$(id -u)" != 0 ]; then
	echo "skipped: installing the package (SIGNERD_TEST_INSTALL=1, as root, on a disposable machine: CI)"
	t_done
	exit
fi
if dpkg-query -W -f='${Status}' signerd 2>/dev/null | grep -q installed || [ -e /etc/signerd ] || [ -e /var/lib/signerd ]; then
	echo "skipped: installing the package: signerd, /etc/signerd or /var/lib/signerd is already here"
	t_done
	exit
fi

had_user=$(getent passwd signerd || true)
spid=
wpid=
install_cleanup() {
	if [ -n "$spid" ]; then
		kill -TERM "$spid" 2>/dev/null
		wait "$wpid" 2>/dev/null
	fi
	dpkg --purge signerd >/dev/null 2>&1
	rm -rf /etc/signerd /var/lib/signerd
	if [ -z "$had_user" ] && getent passwd signerd >/dev/null; then
		userdel signerd
		! getent group signerd >/dev/null || groupdel signerd
	fi
	t_cleanup
}
trap install_cleanup EXIT

if dpkg -i "$deb" >"$T_TMP/dpkg.log" 2>&1; then
	t_ok "dpkg -i $(basename "$deb")"
else
	t_fail "dpkg -i" "$(tail -n 10 "$T_TMP/dpkg.log")"
	t_done
	exit
fi
t_check "the signerd user exists (nologin, home /var/lib/signerd)" \
	bash -c "getent passwd signerd | grep -Eq ':/var/lib/signerd:(/usr)?/sbin/nologin$'"
t_check "/var/lib/signerd exists, signerd:signerd 0700" test "$(stat -c '%U:%G %a' /var/lib/signerd)" = "signerd:signerd 700"
t_check "/etc/signerd/signerd.conf is root:signerd 0640" \
	test "$(stat -c '%U:%G %a' /etc/signerd/signerd.conf)" = "root:signerd 640"
t_check "/usr/sbin/signerd --version runs" test "$(/usr/sbin/signerd --version)" = "signerd $version"
t_check "the unit is not enabled" test ! -e /etc/systemd/system/multi-user.target.wants/signerd.service
if [ "$verify_works" = 1 ]; then
	t_check "systemd-analyze verify: the installed unit, binary and man pages" \
		systemd-analyze verify /lib/systemd/system/signerd.service
fi

# README, "Install on a server", with SoftHSM for the HSM.
ctl() { signerctl -c /etc/signerd/signerd.conf "$@"; }
tls_ca() { # NAME CN
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1.key" -out "$1.pem" \
		-days 30 -subj "/CN=$2" -addext "basicConstraints=critical,CA:TRUE" \
		-addext "keyUsage=critical,keyCertSign" 2>/dev/null
}
tls_cert() { # NAME CN CA EXTENSIONS
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1.key" -out "$1.csr" \
		-subj "/CN=$2" 2>/dev/null &&
		openssl x509 -req -in "$1.csr" -CA "$3.pem" -CAkey "$3.key" -CAcreateserial -days 30 \
			-extfile <(printf '%s\n' "$4") -out "$1.pem" 2>/dev/null
}
setup() {
	(umask 077 && openssl rand -hex 16 >/etc/signerd/user.pin && openssl rand -hex 16 >"$T_TMP/so.pin") &&
		printf 'directories.tokendir = /var/lib/signerd/softhsm\nobjectstore.backend = file\nlog.level = ERROR\n' \
			>/etc/signerd/softhsm2.conf &&
		mkdir /var/lib/signerd/softhsm &&
		sed -i '/^pin_file = /a environment = SOFTHSM2_CONF=/etc/signerd/softhsm2.conf' /etc/signerd/signerd.conf &&
		ctl token init --label signerd --so-pin-file "$T_TMP/so.pin" &&
		ctl keygen --type p256 --key 'pkcs11:token=signerd;object=root-ca' &&
		ctl keygen --type p256 --key 'pkcs11:token=signerd;object=intermediate-ca' &&
		mkdir -p /etc/signerd/ca /etc/signerd/tls &&
		ctl root --key 'pkcs11:token=signerd;object=root-ca' --subject '/O=Example/CN=Example Root' \
			--days 3650 --out /etc/signerd/ca/root.pem &&
		ctl intermediate --key 'pkcs11:token=signerd;object=intermediate-ca' \
			--issuer-key 'pkcs11:token=signerd;object=root-ca' --issuer-cert /etc/signerd/ca/root.pem \
			--subject '/O=Example/CN=Example Issuing CA' --days 1825 --path-len 1 \
			--out /etc/signerd/ca/intermediate.pem &&
		cat /etc/signerd/ca/intermediate.pem /etc/signerd/ca/root.pem >/etc/signerd/ca/chain.pem &&
		chown -R signerd:signerd /var/lib/signerd &&
		(
			cd /etc/signerd/tls && tls_ca ca "API TLS CA" && tls_ca client-ca "API client CA" &&
				tls_cert server localhost ca "$(printf '%s\n' 'basicConstraints=critical,CA:FALSE' \
					'extendedKeyUsage=serverAuth' 'subjectAltName=IP:127.0.0.1')" &&
				tls_cert "$T_TMP/issuer" issuer client-ca "$(printf '%s\n' 'basicConstraints=critical,CA:FALSE' \
					'extendedKeyUsage=clientAuth')" &&
				rm -f ./*.csr ./*.srl ca.key client-ca.key && chgrp signerd server.key && chmod 0640 server.key
		)
}
if setup >"$T_TMP/setup.log" 2>&1; then
	t_ok "set up as README says: PIN, SoftHSM token, key ceremony, TLS files"
else
	t_fail "set up as README says" "$(tail -n 5 "$T_TMP/setup.log")"
	t_done
	exit
fi

# What systemd does for the unit: run it as signerd, the PIN as a credential.
run=$T_TMP/run
mkdir -p "$run/credentials"
install -o signerd -g signerd -m 0400 /etc/signerd/user.pin "$run/credentials/user.pin"
chown signerd:signerd "$run" "$run/credentials"
chmod 0700 "$run"
chmod 0500 "$run/credentials"
chmod 0711 "$T_TMP"
as_signerd=(setpriv --reuid=signerd --regid=signerd --init-groups)

timeout 20 "${as_signerd[@]}" /usr/sbin/signerd -c /etc/signerd/signerd.conf --port 0 >"$T_TMP/nocred.out" 2>&1
rc=$?
t_check "as signerd without the credential: refused (exit 1)" test "$rc" = 1
t_check "as signerd without the credential: the PIN file is root's" \
	grep -q 'PIN file /etc/signerd/user.pin: Permission denied' "$T_TMP/nocred.out"

# Under strace when it can trace here: the system calls made are checked against the unit's filter.
traced=0
if command -v strace >/dev/null && strace -f -o /dev/null true >/dev/null 2>&1; then
	traced=1
	strace -f -qq -o "$T_TMP/strace.log" "${as_signerd[@]}" env CREDENTIALS_DIRECTORY="$run/credentials" \
		/usr/sbin/signerd -c /etc/signerd/signerd.conf --port 0 --ready-file "$run/ready" 2>"$T_TMP/signerd.log" &
else
	"${as_signerd[@]}" env CREDENTIALS_DIRECTORY="$run/credentials" \
		/usr/sbin/signerd -c /etc/signerd/signerd.conf --port 0 --ready-file "$run/ready" 2>"$T_TMP/signerd.log" &
fi
wpid=$!
for _ in $(seq 1 200); do
	[ -s "$run/ready" ] && break
	kill -0 "$wpid" 2>/dev/null || break
	sleep 0.1
done
if [ "$traced" = 1 ]; then
	spid=$(awk '/^[0-9]+ +execve\("\/usr\/sbin\/signerd"/ { print $1; exit }' "$T_TMP/strace.log")
else
	spid=$wpid
fi
if [ -s "$run/ready" ] && [ -n "$spid" ]; then
	t_ok "signerd starts as the signerd user with the PIN credential"
	t_check "it runs the installed front, /usr/libexec/signerd/signerd-front" \
		grep -q 'execve("/usr/libexec/signerd/signerd-front"' "$T_TMP/strace.log"
	port=$(cat "$run/ready")
	url=https://127.0.0.1:$port
	tls=(--cacert /etc/signerd/tls/ca.pem)
	t_check "GET /healthz: 200 ok" bash -c "curl -sS --max-time 10 ${tls[*]} $url/healthz | jq -e '.status == \"ok\"'"
	t_csr "$T_TMP/www.csr" ec:P-256 "/CN=www.example.com" "DNS:www.example.com"
	t_request "$T_TMP/www.csr" server >"$T_TMP/www.json"
	code=$(curl -sS --max-time 20 "${tls[@]}" --cert "$T_TMP/issuer.pem" --key "$T_TMP/issuer.key" \
		-H 'Content-Type: application/json' --data-binary "@$T_TMP/www.json" -o "$T_TMP/www.out" -w '%{http_code}' \
		"$url/v1/sign" 2>"$T_TMP/curl.err")
	t_check "POST /v1/sign as issuer: 200" test "$code" = 200
	jq -r .certificate "$T_TMP/www.out" >"$T_TMP/www.pem" 2>/dev/null
	t_check "the certificate verifies against the root" \
		openssl verify -CAfile /etc/signerd/ca/root.pem -untrusted /etc/signerd/ca/chain.pem "$T_TMP/www.pem"
	kill -TERM "$spid"
	wait "$wpid"
	rc=$?
	spid=
	t_check "signerd stops cleanly on SIGTERM" test "$rc" = 0
	t_check "the journal is /var/lib/signerd/journal, signerd's, 0700" \
		test "$(stat -c '%U %a' /var/lib/signerd/journal)" = "signerd 700"
	t_check "signerctl journal verify (root) accepts it" ctl journal verify
	t_check "the journal's files still belong to signerd" \
		bash -c "test -z \"\$(find /var/lib/signerd/journal ! -user signerd)\""
else
	t_fail "signerd starts as the signerd user with the PIN credential" "$(tail -n 5 "$T_TMP/signerd.log")"
	[ -z "$spid" ] || kill -TERM "$spid" 2>/dev/null
	wait "$wpid" 2>/dev/null
	spid=
fi

# Every system call signerd made must pass SystemCallFilter=@system-service ~@privileged.
syscalls_of() { # @group: its system calls, nested groups expanded
	local s
	systemd-analyze syscall-filter "$1" | awk 'NR > 1 && $1 !~ /^#/ { print $1 }' | while read -r s; do
		case "$s" in @*) syscalls_of "$s" ;; *) echo "$s" ;; esac
	done
}
if [ "$traced" = 1 ] && [ -s "$T_TMP/strace.log" ]; then
	# The unit adds seccomp(2): both processes install their own allow-lists under its filter.
	{ syscalls_of @system-service; echo seccomp; } | sort -u >"$T_TMP/allowed"
	syscalls_of @privileged | sort -u >"$T_TMP/privileged"
	# From signerd's execve on: the system calls of its process and threads.
	awk '/execve\("\/usr\/sbin\/signerd"/ { on = 1 } on' "$T_TMP/strace.log" |
		sed -nE 's/^[0-9]+ +([a-z0-9_]+)\(.*/\1/p' | sort -u >"$T_TMP/used"
	echo "  system calls signerd made: $(wc -l <"$T_TMP/used")"
	t_check "every one is in @system-service: $(comm -23 "$T_TMP/used" "$T_TMP/allowed" | tr '\n' ' ')" \
		test -z "$(comm -23 "$T_TMP/used" "$T_TMP/allowed")"
	t_check "none is in @privileged: $(comm -12 "$T_TMP/used" "$T_TMP/privileged" | tr '\n' ' ')" \
		test -z "$(comm -12 "$T_TMP/used" "$T_TMP/privileged")"
	families=$(awk '/execve\("\/usr\/sbin\/signerd"/ { on = 1 } on' "$T_TMP/strace.log" |
		sed -nE 's/^[0-9]+ +socket\((AF_[A-Z0-9]+).*/\1/p' | sort -u | tr '\n' ' ')
	t_check "its sockets are within RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6: $families" \
		test -z "$(tr ' ' '\n' <<<"$families" | grep -Evx 'AF_UNIX|AF_INET|AF_INET6|')"
else
	echo "skipped: system calls against the unit's filter (strace cannot trace here)"
fi

if dpkg --purge signerd >"$T_TMP/purge.log" 2>&1; then
	t_ok "dpkg --purge signerd"
else
	t_fail "dpkg --purge signerd" "$(tail -n 5 "$T_TMP/purge.log")"
fi
t_check "purged: the package is gone" bash -c "! dpkg-query -W -f='\${Status}' signerd 2>/dev/null | grep -q installed"
t_check "purged: the configuration is gone" test ! -e /etc/signerd/signerd.conf
t_check "purged: its statoverride is gone" bash -c "! dpkg-statoverride --list /etc/signerd/signerd.conf"
t_check "purged: the journal is kept (the CA's audit record)" test -d /var/lib/signerd/journal
t_done
