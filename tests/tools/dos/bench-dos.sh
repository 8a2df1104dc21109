#!/usr/bin/env bash
# The denial-of-service benchmark of issue 11 (run by `make bench-dos`): a
# demo state in $BUILD/bench-dos (made once), a fresh signerd on it, then
# signerd-dos flood, slowloris (600 connections over 10 sources) and idle
# (256 connections from one source), each printed as a "bench-dos ..." line.
#
# On two or more CPUs the attacker runs on CPU 1 and signerd with the
# legitimate client on CPU 0 (on a real network the attacker's own CPU is
# another machine's); the flood is also run once with every process on
# every CPU ("flood-shared"), where the attacker's own CPU use counts too.
#
# Environment: BUILD (build dir, default build), BENCH_SECONDS (10: the
# flood's baseline and the flood itself), BENCH_FLOOD_THREADS (4).
# Output under $BUILD/bench-dos/: results.txt (the lines of this run),
# signerd.log, <attack>.err (the tool's progress).
set -euo pipefail

here=$(cd "$(dirname "$0")/../../.." && pwd)
BUILD=${BUILD:-build}
case "$BUILD" in /*) ;; *) BUILD="$here/$BUILD" ;; esac
BENCH_SECONDS=${BENCH_SECONDS:-10}
BENCH_FLOOD_THREADS=${BENCH_FLOOD_THREADS:-4}
OUT=$BUILD/bench-dos
DEMO=$OUT/demo
BIN=$BUILD/tests/tools/signerd-dos

die() { echo "bench-dos: $*" >&2; exit 1; }

[[ $BENCH_SECONDS =~ ^[1-9][0-9]{0,2}$ ]] && [ "$BENCH_SECONDS" -le 600 ] ||
	die "BENCH_SECONDS=$BENCH_SECONDS: want 1 to 600"
[[ $BENCH_FLOOD_THREADS =~ ^[1-9][0-9]?$ ]] && [ "$BENCH_FLOOD_THREADS" -le 32 ] ||
	die "BENCH_FLOOD_THREADS=$BENCH_FLOOD_THREADS: want 1 to 32"
for f in "$BIN" "$BUILD/signerd" "$BUILD/signerctl"; do
	[ -x "$f" ] || die "$f missing: run 'make bench-dos'"
done

PID=
stop_signerd() {
	[ -n "$PID" ] || return 0
	kill -TERM "$PID" 2>/dev/null || true
	wait "$PID" 2>/dev/null || true
	PID=
}
trap stop_signerd EXIT
trap 'exit 130' INT TERM

mkdir -p "$OUT"
if [ ! -f "$DEMO/.complete" ]; then
	rm -rf "$DEMO"
	echo "bench-dos: creating the demo state in $DEMO (once)"
	DEMO_DIR="$DEMO" PORT=0 BUILD="$BUILD" bash "$here/packaging/demo.sh" init >"$OUT/demo.log" 2>&1 ||
		{ cat "$OUT/demo.log" >&2; die "demo init failed"; }
	touch "$DEMO/.complete"
fi
rm -rf "$DEMO/journal"

rm -f "$OUT/ready"
"$BUILD/signerd" -c "$DEMO/signerd.conf" --port 0 --ready-file "$OUT/ready" 2>"$OUT/signerd.log" &
PID=$!
for _ in $(seq 1 100); do
	[ -s "$OUT/ready" ] && break
	kill -0 "$PID" 2>/dev/null || { PID=; tail -n 5 "$OUT/signerd.log" >&2; die "signerd exited at start"; }
	sleep 0.1
done
[ -s "$OUT/ready" ] || die "signerd not ready after 10 s (log: $OUT/signerd.log)"
PORT=$(<"$OUT/ready")

: >"$OUT/results.txt"
status=0
# run NAME ATTACK ARGS...: one attack; its line, renamed bench-dos, to stdout and results.txt.
PIN=()
if [ "$(nproc)" -ge 2 ]; then
	PIN=(--victim-cpu 0 --attacker-cpu 1)
	taskset -a -p -c 0 "$PID" >/dev/null
fi
run() {
	local name=$1 line
	shift
	echo "bench-dos: $name ..." >&2
	if ! line=$("$BIN" --port "$PORT" --demo "$DEMO" "$@" 2>"$OUT/$name.err"); then
		tail -n 3 "$OUT/$name.err" >&2
		echo "bench-dos: $name failed (progress: $OUT/$name.err)" >&2
		status=1
		return 0
	fi
	line="bench-dos ${line#dos }"
	echo "$line" | tee -a "$OUT/results.txt"
	sleep 1	# let signerd see the attacker's connections go
}
run flood flood "${PIN[@]}" --threads "$BENCH_FLOOD_THREADS" --seconds "$BENCH_SECONDS" \
	--legit-requests "$BENCH_SECONDS" --legit-interval-s 1
run slowloris slowloris "${PIN[@]}" --conns 600 --sources 10 --legit-requests 15 --legit-interval-s 1.5
run idle idle "${PIN[@]}" --conns 256 --sources 1 --legit-requests 10 --legit-interval-s 1
run garbage garbage "${PIN[@]}" --rate 1000 --legit-requests 10 --legit-interval-s 1
if [ "${#PIN[@]}" -gt 0 ]; then
	taskset -a -p -c "0-$(($(nproc) - 1))" "$PID" >/dev/null
	run flood-shared flood --threads "$BENCH_FLOOD_THREADS" --seconds "$BENCH_SECONDS" \
		--legit-requests "$BENCH_SECONDS" --legit-interval-s 1
fi
stop_signerd
echo "bench-dos: signerd log: $(wc -l <"$OUT/signerd.log") lines, $(grep -vc 'status=200' "$OUT/signerd.log") besides successful issuances"
echo "bench-dos: machine-readable lines in $OUT/results.txt"
exit "$status"
