#!/usr/bin/env bash
# Runs the unit test programs, the integration tests and, when FUZZ=yes (as
# `make check` sets it), each libFuzzer target for FUZZ_SECONDS, FUZZ_JOBS
# at a time (tests/fuzz/run.sh); then prints the totals as "N passed, N failed".
# Usage: run-all.sh [unit|integration|fuzz] [NAME]
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
what=${1:-all}
only=${2:-}
passed=0 failed=0

tally() { # reads "<name>: N passed, N failed" lines from a log
	local line p f
	line=$(grep -E '^[A-Za-z0-9_./-]+: [0-9]+ passed, [0-9]+ failed' "$1" | tail -n 1)
	if [ -z "$line" ]; then
		echo "!! $2 printed no result line: counted as failed"
		failed=$((failed + 1)); return
	fi
	p=$(sed -E 's/.*: ([0-9]+) passed, ([0-9]+) failed.*/\1/' <<<"$line")
	f=$(sed -E 's/.*: ([0-9]+) passed, ([0-9]+) failed.*/\2/' <<<"$line")
	passed=$((passed + p)); failed=$((failed + f))
	if [ "$3" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "!! $2 exited $3: counted as failed"; failed=$((failed + 1))
	fi
}

log=$(mktemp); trap 'rm -f "$log"' EXIT
if [ "$what" = all ] || [ "$what" = unit ]; then
	# The programs of today's sources only: a binary left from a renamed test is not run.
	for src in tests/test_*.c; do
		t=$BUILD/tests/$(basename "$src" .c)
		[ -n "$only" ] && [ "$(basename "$t")" != "$only" ] && continue
		[ -x "$t" ] || { echo "!! $t is not built: counted as failed"; failed=$((failed + 1)); continue; }
		echo "== $(basename "$t")"
		"$t" >"$log" 2>&1; rc=$?
		cat "$log"
		tally "$log" "$(basename "$t")" "$rc"
	done
fi
if [ "$what" = all ] || [ "$what" = integration ]; then
	for t in tests/integration/test_*.sh; do
		[ -f "$t" ] || continue
		[ -n "$only" ] && [ "$(basename "$t" .sh)" != "$only" ] && continue
		echo "== $(basename "$t")"
		BUILD="$BUILD" bash "$t" >"$log" 2>&1; rc=$?
		cat "$log"
		tally "$log" "$(basename "$t" .sh)" "$rc"
	done
fi
if [ "$what" = fuzz ] || { [ "$what" = all ] && [ "${FUZZ:-no}" = yes ]; }; then
	# Every tests/fuzz/fuzz_NAME.c is a target. Each is one process that keeps
	# its whole FUZZ_SECONDS; FUZZ_JOBS of them run at a time, and each one's
	# output is shown when it ends.
	fuzz_logs=$(mktemp -d); trap 'rm -f "$log"; rm -rf "$fuzz_logs"' EXIT
	fuzz_running=() fuzz_pids=()
	fuzz_reap() { # waits for one of fuzz_running to end, shows and counts it
		local i name
		while :; do
			for i in "${!fuzz_running[@]}"; do
				name=${fuzz_running[$i]}
				[ -f "$fuzz_logs/$name.rc" ] || continue
				wait "${fuzz_pids[$i]}"	# its exit code is written in full
				unset "fuzz_running[$i]" "fuzz_pids[$i]"
				fuzz_running=("${fuzz_running[@]}") fuzz_pids=("${fuzz_pids[@]}")
				echo "== fuzz_$name"
				cat "$fuzz_logs/$name"
				tally "$fuzz_logs/$name" "fuzz_$name" "$(cat "$fuzz_logs/$name.rc")"
				return
			done
			sleep 1
		done
	}
	fuzz_jobs=${FUZZ_JOBS:-2} fuzz_start=$SECONDS fuzz_n=0
	[[ $fuzz_jobs =~ ^[1-9][0-9]*$ ]] || fuzz_jobs=1
	echo "== fuzzing: ${FUZZ_SECONDS:-60} s per target, $fuzz_jobs at a time"
	for src in tests/fuzz/fuzz_*.c; do
		name=$(basename "$src" .c)
		name=${name#fuzz_}
		[ -n "$only" ] && [ "$name" != "$only" ] && [ "fuzz_$name" != "$only" ] && continue
		while [ "${#fuzz_running[@]}" -ge "$fuzz_jobs" ]; do fuzz_reap; done
		{ bash tests/fuzz/run.sh "$name" >"$fuzz_logs/$name" 2>&1; echo $? >"$fuzz_logs/$name.rc"; } &
		fuzz_running+=("$name") fuzz_pids+=($!)
		fuzz_n=$((fuzz_n + 1))
	done
	while [ "${#fuzz_running[@]}" -gt 0 ]; do fuzz_reap; done
	echo "== fuzzing: $fuzz_n targets in $((SECONDS - fuzz_start)) s"
fi
echo
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
