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
# "nice -n -5" or "taskset -c 1"; the bench client keeps the default).
# Output under $BUILD/bench/: <key>/bench.txt (full output), <key>/plot.dat,
# bench-<key>.png, results.txt (the machine-readable lines of this run).
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

PID=
LOG=/dev/null
stop_signerd() { # sets SIGNERD_RC
	SIGNERD_RC=0
	[ -n "$PID" ] || return 0
	kill -TERM "$PID" 2>/dev/null || true
	wait "$PID" 2>/dev/null || SIGNERD_RC=$?
	PID=
}
trap stop_signerd EXIT
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
	DEMO_DIR="$demo" CA_KEY_TYPE="$key" PORT=0 BUILD="$BUILD" bash "$here/packaging/demo.sh" init \
		>"$dir/demo.log" 2>&1 || { cat "$dir/demo.log" >&2; die "demo init for $key failed"; }
	[ "$BENCH_KEEP_JOURNAL" = 1 ] || rm -rf "$demo/journal"

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

	start_signerd "$demo" "$dir/ready"
	set +e
	"$BIN" --demo "$demo" --pid "$PID" --port "$PORT" --key "$key" --seconds "$BENCH_SECONDS" \
		--conc "$BENCH_CONC" --csrs "$BENCH_CSRS" --startup-ms "$startup_ms" | tee "$dir/bench.txt"
	rc=${PIPESTATUS[0]}
	set -e
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

	grep -E '^bench(-raw|-journal)? ' "$dir/bench.txt" >>"$OUT/results.txt" || true
	raw=$(sed -n 's/^bench key=.* raw=\([0-9.]*\) .*/\1/p' "$dir/bench.txt" | head -n 1)
	sed -n 's/^bench key=[^ ]* conc=\([0-9]*\) rate=\([0-9.]*\) .* p99_ms=\([0-9.]*\) .*/\1 \2 \3/p' \
		"$dir/bench.txt" >"$dir/plot.dat"
	if [ -s "$dir/plot.dat" ]; then
		gnuplot -e "datafile='$dir/plot.dat'; outfile='$OUT/bench-$key.png'; keyname='$key'; raw=${raw:-0}; secs=$BENCH_SECONDS" \
			"$here/tests/bench/plot.gp" && echo "bench: plot $OUT/bench-$key.png"
	fi
done
echo "bench: machine-readable lines in $OUT/results.txt"
exit "$status"
