#!/usr/bin/env bash
# The benchmark of issue 7 (run by `make bench`): for each CA key type, a
# cached demo state, the median startup-to-ready time of signerd on a warm
# token, then signerd-bench (raw HSM limit + end-to-end sweep) against a
# fresh signerd on 127.0.0.1, the table, the "bench ..." lines and a plot.
#
# Environment: BUILD (build dir, default build), BENCH_KEY (p256; comma list
# of rsa2048, rsa3072, rsa4096, p256, p384, p521, ed25519), BENCH_SECONDS
# (10, per step and per raw HSM measurement), BENCH_CONC (1,2,4,16,64),
# BENCH_STARTS (5 timed starts), BENCH_CSRS (256), BENCH_KEEP_JOURNAL (0:
# each run starts from an empty journal; 1: keep it), BENCH_WRAP (a command
# signerd runs under, as a unit's CPUAffinity= or Nice= would: e.g.
# "nice -n -5" or "taskset -c 1"; the bench client keeps the default),
# BENCH_ACME (1: after the sweep, ACME orders at concurrency 16 on the same
# signerd, compared with /v1/sign at 16; 0: skip), BENCH_HSM (a network HSM
# in place of the bare SoftHSM token: "latency=10ms,parallel=8", latency in
# us, ms or s; signerd and the raw measurement sign through
# $BUILD/tests/modules/hsm_sim.so with those settings, and the "bench" lines
# add the capacity parallel / latency and ratio_capacity = issued/s over it;
# empty: the demo's own module), BENCH_PEER (cfssl: a peer in the same run,
# `cfssl serve` of Debian's golang-cfssl with a file CA key of the key type
# under test (no database, no HSM), on a free 127.0.0.1 port behind the same
# mutual TLS as signerd (the demo's server certificate and client CA); at
# each concurrency the same load generator drives it right after signerd
# with the same P-256 CSRs (POST /api/v1/cfssl/sign), and each "bench" line
# adds peer=cfssl peer_rate=... ratio_peer=<signerd issued/s over cfssl's>
# and the peer's p50, p99, errors and RSS; ed25519 is not offered, cfssl 1.2
# has no such CA key; empty: no peer), BENCH_RESULT (the bench demo's
# [journal] result: next-commit, the default, or durable-before-release; each
# "bench" line ends with journal_result=).
# Output under $BUILD/bench/: <key>/bench.txt (full output), <key>/plot.dat,
# bench-<key>.png, results.txt (the machine-readable lines of this run),
# <key>/cfssl/ (the peer's CA, config and log).
set -euo pipefail

here=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-build}
case "$BUILD" in /*) ;; *) BUILD="$here/$BUILD" ;; esac
BENCH_KEY=${BENCH_KEY:-p256}
BENCH_SECONDS=${BENCH_SECONDS:-10}
BENCH_CONC=${BENCH_CONC:-1,2,4,16,64}
BENCH_STARTS=${BENCH_STARTS:-5}
BENCH_CSRS=${BENCH_CSRS:-256}
BENCH_KEEP_JOURNAL=${BENCH_KEEP_JOURNAL:-0}
BENCH_ACME=${BENCH_ACME:-1}
BENCH_HSM=${BENCH_HSM:-}
BENCH_PEER=${BENCH_PEER:-}
BENCH_RESULT=${BENCH_RESULT:-next-commit}
SIM=$BUILD/tests/modules/hsm_sim.so
ACME_CONC=16 # BENCH_ACME_CONC in bench.h: workers bench-0 .. bench-15.example.com
read -r -a WRAP <<<"${BENCH_WRAP:-}"
OUT=$BUILD/bench
BIN=$BUILD/tests/bench/signerd-bench
READY_TIMEOUT_US=10000000

die() { echo "bench: $*" >&2; exit 1; }

[[ $BENCH_SECONDS =~ ^[1-9][0-9]{0,2}$ ]] && [ "$BENCH_SECONDS" -le 600 ] ||
	die "BENCH_SECONDS=$BENCH_SECONDS: want 1 to 600"
[[ $BENCH_CONC =~ ^[1-9][0-9]{0,2}(,[1-9][0-9]{0,2})*$ ]] || die "BENCH_CONC=$BENCH_CONC: want e.g. 1,2,4,16,64"
[[ $BENCH_STARTS =~ ^[1-9][0-9]?$ ]] || die "BENCH_STARTS=$BENCH_STARTS: want 1 to 99"
[[ $BENCH_CSRS =~ ^[1-9][0-9]{0,4}$ ]] || die "BENCH_CSRS=$BENCH_CSRS: want 1 to 65536"
[[ $BENCH_ACME =~ ^[01]$ ]] || die "BENCH_ACME=$BENCH_ACME: want 0 or 1"
[[ $BENCH_RESULT =~ ^(next-commit|durable-before-release)$ ]] ||
	die "BENCH_RESULT=$BENCH_RESULT: want next-commit or durable-before-release"
# BENCH_HSM: HSM_LATENCY_US and HSM_PARALLEL, both or neither.
HSM_LATENCY_US='' HSM_PARALLEL=''
if [ -n "$BENCH_HSM" ]; then
	IFS=, read -r -a hsm_opts <<<"$BENCH_HSM"
	for opt in "${hsm_opts[@]}"; do
		case "$opt" in
		latency=*)
			[[ ${opt#latency=} =~ ^([0-9]{1,8})(us|ms|s)$ ]] ||
				die "BENCH_HSM: '$opt': want latency=N with us, ms or s (e.g. latency=10ms)"
			case "${BASH_REMATCH[2]}" in
			us) HSM_LATENCY_US=$((10#${BASH_REMATCH[1]})) ;;
			ms) HSM_LATENCY_US=$((10#${BASH_REMATCH[1]} * 1000)) ;;
			s) HSM_LATENCY_US=$((10#${BASH_REMATCH[1]} * 1000000)) ;;
			esac
			if [ "$HSM_LATENCY_US" -lt 1 ] || [ "$HSM_LATENCY_US" -gt 10000000 ]; then
				die "BENCH_HSM: '$opt': want 1 us to 10 s"
			fi
			;;
		parallel=*)
			if ! [[ ${opt#parallel=} =~ ^[1-9][0-9]{0,3}$ ]] || [ "${opt#parallel=}" -gt 4096 ]; then
				die "BENCH_HSM: '$opt': want parallel=1 to 4096"
			fi
			HSM_PARALLEL=${opt#parallel=}
			;;
		*) die "BENCH_HSM: unknown setting '$opt' (want latency=10ms,parallel=8)" ;;
		esac
	done
	if [ -z "$HSM_LATENCY_US" ] || [ -z "$HSM_PARALLEL" ]; then
		die "BENCH_HSM=$BENCH_HSM: want both latency= and parallel="
	fi
	[ -f "$SIM" ] || die "$SIM missing: run 'make bench' (or make $SIM)"
fi
IFS=, read -r -a KEYS <<<"$BENCH_KEY"
[ "${#KEYS[@]}" -gt 0 ] || die "BENCH_KEY is empty"
for key in "${KEYS[@]}"; do
	case "$key" in
	rsa2048 | rsa3072 | rsa4096 | p256 | p384 | p521 | ed25519) ;;
	*) die "BENCH_KEY: unknown key type '$key'" ;;
	esac
done
for f in "$BIN" "$BUILD/signerd" "$BUILD/signerctl"; do
	[ -x "$f" ] || die "$f missing: run 'make bench' (or make BUILD=... bench)"
done
command -v gnuplot >/dev/null || die "gnuplot missing: run 'make deps-bench'"
case "$BENCH_PEER" in
'') ;;
cfssl)
	command -v cfssl >/dev/null ||
		die "BENCH_PEER=cfssl: cfssl missing: install the Debian package golang-cfssl ('make deps-bench' does)"
	command -v openssl >/dev/null || die "BENCH_PEER=cfssl: openssl missing (it makes cfssl's CA): run 'make deps'"
	for key in "${KEYS[@]}"; do
		[ "$key" != ed25519 ] || die "BENCH_PEER=cfssl: cfssl 1.2 has no ed25519 CA keys (BENCH_KEY=$BENCH_KEY)"
	done
	;;
*) die "BENCH_PEER=$BENCH_PEER: want cfssl, or empty for no peer" ;;
esac

PID=
LOG=/dev/null
stop_signerd() { # sets SIGNERD_RC
	SIGNERD_RC=0
	[ -n "$PID" ] || return 0
	kill -TERM "$PID" 2>/dev/null || true
	wait "$PID" 2>/dev/null || SIGNERD_RC=$?
	PID=
}
PEER_PID=
stop_peer() {
	[ -n "$PEER_PID" ] || return 0
	kill -TERM "$PEER_PID" 2>/dev/null || true
	wait "$PEER_PID" 2>/dev/null || true # a Go program ends by the signal: 143
	PEER_PID=
}
trap 'stop_peer; stop_signerd' EXIT
trap 'exit 130' INT TERM

now_us() { echo "${EPOCHREALTIME/./}"; }

# start_signerd DEMO READY: sets PID, PORT and STARTUP_US (exec to ready file).
start_signerd() {
	local demo=$1 ready=$2 t0 t1
	rm -f "$ready"
	t0=$(now_us)
	${WRAP[@]+"${WRAP[@]}"} "$BUILD/signerd" -c "$demo/signerd.conf" --port 0 --ready-file "$ready" 2>>"$LOG" &
	PID=$!
	PORT=
	while :; do
		if [ -s "$ready" ]; then
			t1=$(now_us)
			PORT=$(<"$ready")
			[[ $PORT =~ ^[1-9][0-9]*$ ]] && break
		fi
		if ! kill -0 "$PID" 2>/dev/null; then
			wait "$PID" 2>/dev/null || true
			PID=
			tail -n 5 "$LOG" >&2
			die "signerd exited before it was ready (log: $LOG)"
		fi
		[ $(($(now_us) - t0)) -lt "$READY_TIMEOUT_US" ] || die "signerd not ready after 10 s (log: $LOG)"
		sleep 0.001
	done
	STARTUP_US=$((t1 - t0))
}

# A TCP port free on 127.0.0.1 now (for signerd's http-01 validation: the bench answers there).
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# set_acme CONF PORT: [acme] of the bench's demo config validates the bench
# names on 127.0.0.1:PORT, and one account may order without the hourly limit.
set_acme() {
	local conf=$1 port=$2 tmp="$1.new" i
	awk -v port="$port" -v conc="$ACME_CONC" '
		/^\[/ { acme = ($0 == "[acme]") }
		acme && /^(http_port|hosts|orders_per_hour) *=/ { next }
		{ print }
		$0 == "[acme]" {
			printf "http_port = %s\norders_per_hour = 0\n", port
			for (i = 0; i < conc; i++) printf "hosts = bench-%d.example.com=127.0.0.1\n", i
		}
	' "$conf" >"$tmp" && chmod --reference="$conf" "$tmp" && mv "$tmp" "$conf"
	grep -q "^http_port = $port\$" "$conf" || die "$conf: no [acme] section to point at port $port"
}

# set_hsm CONF: [hsm] of the bench's demo config signs through hsm_sim.so with
# BENCH_HSM's settings, over the module it named before (kept as HSM_SIM_MODULE);
# without BENCH_HSM, through that module again.
set_hsm() {
	local conf=$1 tmp="$1.new" real
	real=$(awk '/^\[/ { hsm = ($0 == "[hsm]") }
		hsm && sub(/^environment *= *HSM_SIM_MODULE=/, "") { print; exit }' "$conf")
	[ -n "$real" ] || real=$(awk '/^\[/ { hsm = ($0 == "[hsm]") } hsm && sub(/^module *= */, "") { print; exit }' "$conf")
	[ -n "$real" ] || die "$conf: no [hsm] module"
	awk -v sim="${HSM_LATENCY_US:+$SIM}" -v real="$real" -v lat="$HSM_LATENCY_US" -v par="$HSM_PARALLEL" '
		/^\[/ { hsm = ($0 == "[hsm]") }
		hsm && (/^module *=/ || /^environment *= *HSM_SIM_/) { next }
		{ print }
		$0 == "[hsm]" && sim == "" { printf "module = %s\n", real }
		$0 == "[hsm]" && sim != "" {
			printf "module = %s\nenvironment = HSM_SIM_MODULE=%s\n", sim, real
			printf "environment = HSM_SIM_LATENCY_US=%s\nenvironment = HSM_SIM_PARALLEL=%s\n", lat, par
		}
	' "$conf" >"$tmp" && chmod --reference="$conf" "$tmp" && mv "$tmp" "$conf"
}

# peer_ca DIR KEY: a file CA key of signerd's key type KEY (PKCS#8, as cfssl reads it), a
# self-signed CA certificate for it and a signing config whose default profile issues
# server certificates for an hour; made once per key type and kept (DIR/.complete).
peer_ca() {
	local pdir=$1 key=$2 alg
	[ -f "$pdir/.complete" ] && return 0
	rm -rf "$pdir"
	mkdir -p "$pdir"
	case "$key" in
	rsa*) alg=(-algorithm RSA -pkeyopt "rsa_keygen_bits:${key#rsa}") ;;
	p256 | p384 | p521) alg=(-algorithm EC -pkeyopt "ec_paramgen_curve:P-${key#p}" -pkeyopt ec_param_enc:named_curve) ;;
	*) die "BENCH_PEER: no cfssl CA for key type $key" ;;
	esac
	(umask 077 && openssl genpkey "${alg[@]}" -out "$pdir/ca-key.pem" 2>/dev/null) ||
		die "BENCH_PEER: openssl cannot make a $key key"
	openssl req -x509 -new -key "$pdir/ca-key.pem" -out "$pdir/ca.pem" -days 3650 \
		-subj "/O=signerd bench peer/CN=cfssl bench CA $key" \
		-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null ||
		die "BENCH_PEER: openssl cannot make the cfssl CA certificate"
	cat >"$pdir/config.json" <<-'EOF'
		{"signing": {"default": {"usages": ["signing", "digital signature", "server auth"], "expiry": "1h"}}}
	EOF
	touch "$pdir/.complete"
}

# start_peer DEMO PDIR: cfssl serve on a free 127.0.0.1 port with the CA of PDIR, behind the
# demo's TLS server identity, clients verified against the demo's client CA (as signerd does);
# sets PEER_PID and PEER_PORT once the port accepts connections.
start_peer() {
	local demo=$1 pdir=$2 t0
	PEER_PORT=$(free_port)
	: >"$pdir/cfssl.log"
	cfssl serve -address 127.0.0.1 -port "$PEER_PORT" -ca "$pdir/ca.pem" -ca-key "$pdir/ca-key.pem" \
		-config "$pdir/config.json" -tls-cert "$demo/tls/server.pem" -tls-key "$demo/tls/server.key" \
		-mutual-tls-ca "$demo/tls/client-ca.pem" 2>>"$pdir/cfssl.log" &
	PEER_PID=$!
	t0=$(now_us)
	until (: <>"/dev/tcp/127.0.0.1/$PEER_PORT") 2>/dev/null; do
		if ! kill -0 "$PEER_PID" 2>/dev/null; then
			wait "$PEER_PID" 2>/dev/null || true
			PEER_PID=
			tail -n 5 "$pdir/cfssl.log" >&2
			die "cfssl serve exited before it listened (log: $pdir/cfssl.log)"
		fi
		[ $(($(now_us) - t0)) -lt "$READY_TIMEOUT_US" ] || die "cfssl serve not listening after 10 s (log: $pdir/cfssl.log)"
		sleep 0.01
	done
}

# set_result CONF: [journal] result of the bench's demo config is BENCH_RESULT.
set_result() {
	local conf=$1 tmp="$1.new"
	awk -v mode="$BENCH_RESULT" '
		/^\[/ { journal = ($0 == "[journal]") }
		journal && /^result *=/ { next }
		{ print }
		$0 == "[journal]" { printf "result = %s\n", mode }
	' "$conf" >"$tmp" && chmod --reference="$conf" "$tmp" && mv "$tmp" "$conf"
	grep -q "^result = $BENCH_RESULT\$" "$conf" || die "$conf: no [journal] section"
}

# The median of integers given as arguments.
median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

mkdir -p "$OUT"
: >"$OUT/results.txt"
status=0
for key in "${KEYS[@]}"; do
	dir=$OUT/$key
	demo=$dir/demo
	LOG=$dir/signerd.log
	mkdir -p "$dir"
	: >"$LOG"
	if [ ! -f "$demo/.complete" ]; then
		rm -rf "$demo"
		echo "bench: creating the $key demo state in $demo (once; CA keygen may take a while)"
	fi
	# Also on a cached state: demo.sh brings an older one up to date.
	acme_port=$(free_port)
	acme_hosts=$(seq -f 'bench-%g.example.com' 0 $((ACME_CONC - 1)) | tr '\n' ' ')
	DEMO_DIR="$demo" CA_KEY_TYPE="$key" PORT=0 BUILD="$BUILD" ACME_HTTP_PORT="$acme_port" ACME_HOSTS="$acme_hosts" \
		bash "$here/packaging/demo.sh" init >"$dir/demo.log" 2>&1 ||
		{ cat "$dir/demo.log" >&2; die "demo init for $key failed"; }
	[ "$BENCH_KEEP_JOURNAL" = 1 ] || rm -rf "$demo/journal"
	if [ -n "$HSM_LATENCY_US" ] || grep -q '^environment *= *HSM_SIM_' "$demo/signerd.conf"; then
		set_hsm "$demo/signerd.conf"
	fi
	set_result "$demo/signerd.conf"
	hsm_args=()
	[ -z "$HSM_LATENCY_US" ] || hsm_args=(--hsm-latency-us "$HSM_LATENCY_US" --hsm-parallel "$HSM_PARALLEL")
	acme_args=()
	if [ "$BENCH_ACME" = 1 ]; then
		# A cached state keeps the port it was made with: point it at this run's.
		set_acme "$demo/signerd.conf" "$acme_port"
		# The ACME store lives under the journal: a fresh EAB key each run (0600; the key stays out of argv).
		(umask 077 && "$BUILD/signerctl" -c "$demo/signerd.conf" acme eab add --profile server \
			--dns-suffix example.com >"$dir/acme-eab.txt") || die "signerctl acme eab add failed"
		acme_args=(--acme-eab "$dir/acme-eab.txt" --acme-http-port "$acme_port")
	fi

	# Startup to ready on a warm token: one untimed start, then BENCH_STARTS timed ones.
	times=()
	for i in $(seq 0 "$BENCH_STARTS"); do
		start_signerd "$demo" "$dir/ready"
		[ "$i" -eq 0 ] || times+=("$STARTUP_US")
		stop_signerd
		[ "$SIGNERD_RC" -eq 0 ] || die "signerd exited with $SIGNERD_RC on SIGTERM (log: $LOG)"
	done
	startup_ms=$(median "${times[@]}" | awk '{ printf "%.1f", $1 / 1000 }')
	echo "bench: $key: startup to ready (ms, $BENCH_STARTS starts): $(printf '%s\n' "${times[@]}" |
		awk '{ printf "%s%.1f", (NR > 1 ? " " : ""), $1 / 1000 }'); median $startup_ms"

	peer_args=()
	if [ -n "$BENCH_PEER" ]; then
		peer_ca "$dir/cfssl" "$key"
		start_peer "$demo" "$dir/cfssl"
		peer_args=(--peer "$BENCH_PEER" --peer-pid "$PEER_PID" --peer-port "$PEER_PORT")
	fi
	start_signerd "$demo" "$dir/ready"
	set +e
	"$BIN" --demo "$demo" --pid "$PID" --port "$PORT" --key "$key" --seconds "$BENCH_SECONDS" \
		--conc "$BENCH_CONC" --csrs "$BENCH_CSRS" --startup-ms "$startup_ms" ${acme_args[@]+"${acme_args[@]}"} \
		${hsm_args[@]+"${hsm_args[@]}"} ${peer_args[@]+"${peer_args[@]}"} |
		tee "$dir/bench.txt"
	rc=${PIPESTATUS[0]}
	set -e
	stop_peer
	stop_signerd
	if [ "$SIGNERD_RC" -ne 0 ]; then
		echo "bench: signerd exited with $SIGNERD_RC on SIGTERM; its log:" >&2
		tail -n 20 "$LOG" >&2
		rc=1
	fi
	[ "$rc" -eq 0 ] || status=1
	[ "$rc" -eq 1 ] && { echo "bench: $key: the run failed (exit $rc)" >&2; continue; }

	# The journal of this run must verify (durable, hash-chained); time it.
	t0=$(now_us)
	if verify=$("$BUILD/signerctl" -c "$demo/signerd.conf" journal verify 2>&1); then
		records=$(sed -n 's/^journal verifies: \([0-9]*\) records.*/\1/p' <<<"$verify")
		echo "bench-journal key=$key records=${records:-?} verify_ms=$((($(now_us) - t0) / 1000))" |
			tee -a "$dir/bench.txt"
	else
		echo "bench: $key: journal verify failed: $verify" >&2
		status=1
	fi

	sed -i "s/^bench key=.*/& journal_result=$BENCH_RESULT/" "$dir/bench.txt"
	grep -E '^bench(-raw|-journal|-acme)? ' "$dir/bench.txt" >>"$OUT/results.txt" || true
	raw=$(sed -n 's/^bench key=.* raw=\([0-9.]*\) .*/\1/p' "$dir/bench.txt" | head -n 1)
	# plot.dat: conc, issued/s, p99 ms, and with a peer its issued/s and p99 ms.
	sed -n 's/^bench key=[^ ]* conc=\([0-9]*\) rate=\([0-9.]*\) .* p99_ms=\([0-9.]*\) .*/\1 \2 \3/p' \
		"$dir/bench.txt" >"$dir/plot.dat"
	if [ -n "$BENCH_PEER" ]; then
		sed -n 's/^bench key=.* conc=\([0-9]*\) rate=\([0-9.]*\) .* p99_ms=\([0-9.]*\) .* peer_rate=\([0-9.]*\) .* peer_p99_ms=\([0-9.]*\) .*/\1 \2 \3 \4 \5/p' \
			"$dir/bench.txt" >"$dir/plot.dat"
	fi
	if [ -s "$dir/plot.dat" ]; then
		gnuplot -e "datafile='$dir/plot.dat'; outfile='$OUT/bench-$key.png'; keyname='$key'; raw=${raw:-0}; secs=$BENCH_SECONDS; peer='$BENCH_PEER'" \
			"$here/tests/bench/plot.gp" && echo "bench: plot $OUT/bench-$key.png"
	fi
done
echo "bench: machine-readable lines in $OUT/results.txt"
exit "$status"
