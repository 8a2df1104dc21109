#!/usr/bin/env bash
# Runs the unit test programs and the integration tests, then prints the
# totals as "N passed, N failed". Usage: run-all.sh [unit|integration] [NAME]
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
echo
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
