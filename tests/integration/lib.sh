# Shared helpers for the integration tests: a demo state in a temp dir, a
# real signerd on an ephemeral loopback port, curl over mutual TLS.
# Each test script sources this file, calls t_ok/t_fail per check and ends
# with t_done, which prints "<name>: N passed, N failed".

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${BUILD:-build}
case "$BUILD" in /*) ;; *) BUILD="$here/$BUILD" ;; esac
T_NAME=$(basename "$0" .sh)
T_PASSED=0
T_FAILED=0
T_TMP=$(mktemp -d "${TMPDIR:-/tmp}/signerd-it-XXXXXX")
T_PID=

t_ok() { T_PASSED=$((T_PASSED + 1)); echo "ok - $1"; }
t_fail() { T_FAILED=$((T_FAILED + 1)); echo "not ok - $1${2:+: $2}"; }
t_check() { # name command...
	local name=$1; shift
	if "$@" >"$T_TMP/check.out" 2>&1; then t_ok "$name"; else t_fail "$name" "$(tail -n 3 "$T_TMP/check.out")"; fi
}

t_cleanup() {
	t_stop
	rm -rf "$T_TMP"
}
trap t_cleanup EXIT

t_done() {
	echo "$T_NAME: $T_PASSED passed, $T_FAILED failed"
	[ "$T_FAILED" -eq 0 ]
}

# Create a demo state in $1 with CA key type $2.
t_demo() {
	DEMO_DIR="$1" CA_KEY_TYPE="$2" PORT=0 BUILD="$BUILD" bash "$here/packaging/demo.sh" init >"$T_TMP/demo.log" 2>&1 ||
		{ cat "$T_TMP/demo.log"; return 1; }
}

# Start signerd on the demo in $1; sets T_PID, T_PORT, T_URL, T_DIR.
# T_SIGNERD_CPU=N runs it on CPU N only; T_START_PORT=P on port P (a restart that
# clients must find where it was), else on an ephemeral one.
t_start() {
	local wrap=()
	T_DIR=$1
	rm -f "$T_TMP/ready"
	[ -z "${T_SIGNERD_CPU:-}" ] || wrap=(taskset -c "$T_SIGNERD_CPU")
	"${wrap[@]}" "$BUILD/signerd" -c "$T_DIR/signerd.conf" --port "${T_START_PORT:-0}" --ready-file "$T_TMP/ready" 2>"$T_TMP/signerd.log" &
	T_PID=$!
	local i
	for i in $(seq 1 100); do
		[ -s "$T_TMP/ready" ] && break
		kill -0 "$T_PID" 2>/dev/null || break
		sleep 0.1
	done
	if [ ! -s "$T_TMP/ready" ]; then
		echo "signerd did not start:"; cat "$T_TMP/signerd.log"; T_PID=; return 1
	fi
	T_PORT=$(cat "$T_TMP/ready")
	T_URL="https://127.0.0.1:$T_PORT"
}

t_stop() {
	[ -n "$T_PID" ] || return 0
	kill -TERM "$T_PID" 2>/dev/null
	wait "$T_PID" 2>/dev/null
	T_RC=$?
	T_PID=
}

# t_curl OUTFILE [curl args...]: prints the HTTP status.
t_curl() {
	local out=$1; shift
	rm -f "$out"
	curl -sS --max-time 30 --cacert "$T_DIR/tls/ca.pem" -o "$out" -w '%{http_code}' "$@" 2>"$T_TMP/curl.err" || true
}

# t_post WHO PATH JSONFILE [extra curl args]: POST PATH as client WHO
# with Content-Type $T_CONTENT_TYPE (default application/json)
# (a name under $T_DIR/clients, or a path prefix to a .pem/.key pair, or
# "none"); body in $T_TMP/body, status printed.
t_post() {
	local who=$1 path=$2 json=$3; shift 3
	local id=()
	case "$who" in
	none) ;;
	/*) id=(--cert "$who.pem" --key "$who.key") ;;
	*) id=(--cert "$T_DIR/clients/$who.pem" --key "$T_DIR/clients/$who.key") ;;
	esac
	t_curl "$T_TMP/body" "${id[@]}" -H "Content-Type: ${T_CONTENT_TYPE:-application/json}" --data-binary "@$json" "$@" "$T_URL$path"
}

# t_sign WHO JSONFILE [extra curl args]: t_post WHO /v1/sign JSONFILE.
t_sign() {
	local who=$1 json=$2; shift 2
	t_post "$who" /v1/sign "$json" "$@"
}

# A JSON sign request for CSR file $1 and profile $2 (default server), extra jq args after.
t_request() {
	local csr=$1 profile=${2:-server}
	jq -n --rawfile csr "$csr" --arg p "$profile" '{profile: $p, csr: $csr}'
}

# A CSR: t_csr OUT KEYSPEC SUBJECT SAN   (KEYSPEC: ec:P-256, rsa:2048, ...)
t_csr() {
	local out=$1 spec=$2 subj=$3 san=$4 opts=()
	case "$spec" in
	ec:*) opts=(-newkey ec -pkeyopt "ec_paramgen_curve:${spec#ec:}") ;;
	rsa:*) opts=(-newkey "rsa:${spec#rsa:}") ;;
	ed25519) opts=(-newkey ed25519) ;;
	esac
	openssl req -new "${opts[@]}" -nodes -keyout "$out.key" -out "$out" -subj "$subj" \
		${san:+-addext "subjectAltName=$san"} 2>/dev/null
}

t_journal_count() {
	"$BUILD/signerctl" -c "$T_DIR/signerd.conf" journal list | tail -n +2 | wc -l
}

t_problem_type() { jq -r '.type // empty' "$T_TMP/body" 2>/dev/null; }

# t_conf_module CONF MODULE [NAME=value...]: point [hsm] module of config
# file CONF at MODULE and add an "environment =" line per extra argument.
t_conf_module() {
	local conf=$1 module=$2 e add=""
	shift 2
	for e in "$@"; do add="$add\\nenvironment = $e"; done
	sed -i -e "s|^module = .*|module = $module|" -e "/^environment = SOFTHSM2_CONF=/s|\$|$add|" "$conf"
}

# p11-kit's proxy module (SoftHSM is registered with p11-kit by Debian's package).
t_p11kit_proxy() {
	local p
	p=$(pkg-config --variable=proxy_module p11-kit-1 2>/dev/null)
	[ -n "$p" ] && [ -f "$p" ] || p=$(ls /usr/lib/*/p11-kit-proxy.so /usr/lib/p11-kit-proxy.so 2>/dev/null | head -n 1)
	echo "$p"
}

# t_burst DIR N REQUEST: N concurrent POST /v1/sign as issuer with JSON file
# REQUEST, each bounded by --max-time; DIR/<i>.code, .hdr and .body hold the
# answers, DIR/<i>.rc curl's exit status (not 0: the answer did not arrive
# whole, e.g. the server died while sending it).
t_burst() {
	local dir=$1 n=$2 req=$3 i pids=()
	rm -rf "$dir"; mkdir -p "$dir"
	for i in $(seq 1 "$n"); do
		{
			curl -sS --max-time "${T_BURST_MAX_TIME:-20}" --cacert "$T_DIR/tls/ca.pem" \
				--cert "$T_DIR/clients/issuer.pem" --key "$T_DIR/clients/issuer.key" \
				-H 'Content-Type: application/json' --data-binary "@$req" \
				-D "$dir/$i.hdr" -o "$dir/$i.body" -w '%{http_code}' "$T_URL/v1/sign" \
				>"$dir/$i.code" 2>"$dir/$i.err"
			echo $? >"$dir/$i.rc"
		} &
		pids+=($!)
	done
	wait "${pids[@]}"
}

# t_audit ARGS...: signerctl audit ... on the current demo.
t_audit() { "$BUILD/signerctl" -c "$T_DIR/signerd.conf" audit "$@"; }

# t_get WHO PATH: GET $T_URL$PATH as client WHO (or "none"); body in $T_TMP/body, status printed.
t_get() {
	local who=$1 path=$2 id=()
	[ "$who" = none ] || id=(--cert "$T_DIR/clients/$who.pem" --key "$T_DIR/clients/$who.key")
	t_curl "$T_TMP/body" "${id[@]}" "$T_URL$path"
}

# t_raw OUT REQFILE [WHO]: send the bytes of REQFILE over one TLS connection
# (as client WHO under $T_DIR/clients, or none), keep what came back in
# OUT.raw and its status codes, one a line, in OUT. Returns openssl's exit
# status, or 124 when the exchange took more than ${T_RAW_TIMEOUT:-8} s.
t_raw() {
	local out=$1 req=$2 who=${3:-} id=() rc
	[ -z "$who" ] || id=(-cert "$T_DIR/clients/$who.pem" -key "$T_DIR/clients/$who.key")
	timeout "${T_RAW_TIMEOUT:-8}" openssl s_client -quiet -connect "127.0.0.1:$T_PORT" \
		-CAfile "$T_DIR/tls/ca.pem" "${id[@]}" <"$req" >"$out.raw" 2>"$out.err"
	rc=$?
	# A body may end without a newline: the next status line can follow it on the same line.
	grep -ao 'HTTP/1\.[01] [0-9][0-9][0-9] ' "$out.raw" | cut -d' ' -f2 >"$out"
	return $rc
}
