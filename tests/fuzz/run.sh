#!/usr/bin/env bash
# Runs one libFuzzer target (tests/fuzz/fuzz_NAME.c, built by `make fuzz-build`):
# first each regression input (tests/fuzz/regress/NAME/) and seed
# (tests/fuzz/corpus/NAME/) once, then FUZZ_SECONDS of fuzzing that starts
# from a scratch copy of both, so the checked-in files are never changed.
# A crash, a leak, a sanitizer report, a timeout or running out of memory
# fails the run, with the path of the input that caused it and the command
# that replays it. Ends with "fuzz_NAME: N passed, N failed" (run-all.sh
# counts it). The whole log and the grown corpus stay in FUZZ_BUILD/run/NAME/.
# Usage: run.sh NAME   (environment: FUZZ_BUILD=build-fuzz, FUZZ_SECONDS=60)
set -u
cd "$(dirname "$0")/../.."
name=${1:?usage: run.sh NAME}
FUZZ_BUILD=${FUZZ_BUILD:-build-fuzz}
secs=${FUZZ_SECONDS:-60}
bin=$FUZZ_BUILD/fuzz_$name

# The target's own libFuzzer options: a "fuzz-options:" line in the header
# comment of its source (a reason may follow in parentheses), at least the
# longest input worth trying, a little past the input's own limit.
src=tests/fuzz/fuzz_$name.c
own=()
read -r -a own < <(sed -nE 's/^ \* fuzz-options:[[:space:]]*([^(]*).*/\1/p' "$src" 2>/dev/null | head -n 1)
[ "${#own[@]}" -gt 0 ] || own=(-max_len=4096)
opts=(-rss_limit_mb=2048 -timeout=25 "${own[@]}")

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
for s in /usr/lib/llvm-14/bin/llvm-symbolizer "$(command -v llvm-symbolizer 2>/dev/null)"; do
	[ -x "$s" ] && { export ASAN_SYMBOLIZER_PATH=$s; break; }
done

work=$FUZZ_BUILD/run/$name
passed=0 failed=0
finish() {
	echo "fuzz_$name: $passed passed, $failed failed"
	[ "$failed" -eq 0 ]
	exit
}
if [ ! -x "$bin" ]; then
	echo "!! $bin is not built (make fuzz-build)"; failed=1; finish
fi
rm -rf "$work" && mkdir -p "$work/corpus" "$work/artifacts" || { failed=1; finish; }

# The report of a failed run, then what reproduces it.
report() { # LOG REPRODUCER
	sed -n '/^==[0-9]*==\|runtime error\|invariant broken\|^ALARM\|out-of-memory\|^INFO: a leak/,$p' "$1" | head -n 80
	echo "reproducer: $2"
	echo "replay: $bin $2"
}

# 1. Every regression input and seed, each run once.
inputs=()
for d in tests/fuzz/regress/$name tests/fuzz/corpus/$name; do
	[ -d "$d" ] && for f in "$d"/*; do [ -f "$f" ] && inputs+=("$f"); done
done
if [ "${#inputs[@]}" -gt 0 ]; then
	if "$bin" "${opts[@]}" -artifact_prefix="$work/replay-" "${inputs[@]}" >"$work/replay.log" 2>&1; then
		echo "replayed ${#inputs[@]} regression and seed inputs"
		passed=$((passed + 1))
	else
		last=$(grep '^Running: ' "$work/replay.log" | tail -n 1)
		echo "!! a regression or seed input fails:"
		report "$work/replay.log" "${last#Running: }"
		failed=$((failed + 1))
	fi
fi

# 2. FUZZ_SECONDS of fuzzing.
for f in "${inputs[@]}"; do cp "$f" "$work/corpus/"; done
start=$SECONDS
"$bin" "${opts[@]}" -max_total_time="$secs" -print_final_stats=1 -artifact_prefix="$work/artifacts/" \
	"$work/corpus" >"$work/fuzz.log" 2>&1
rc=$?
stats=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$work/fuzz.log" | tail -n 1)
artifact=$(find "$work/artifacts" -type f | head -n 1)
if [ "$rc" -eq 0 ] && [ -z "$artifact" ] && [ -n "$stats" ]; then
	runs=$(sed -E 's/^#([0-9]+).*/\1/' <<<"$stats")
	cov=$(sed -nE 's/.* cov: ([0-9]+).*/\1/p' <<<"$stats")
	ft=$(sed -nE 's/.* ft: ([0-9]+).*/\1/p' <<<"$stats")
	corp=$(sed -nE 's/.* corp: ([0-9]+).*/\1/p' <<<"$stats")
	eps=$(sed -nE 's/.* exec\/s: ([0-9]+).*/\1/p' <<<"$stats")
	echo "fuzzed $((SECONDS - start)) s: $runs runs, $eps exec/s, cov $cov, ft $ft, corpus $corp"
	passed=$((passed + 1))
else
	echo "!! fuzzing failed (libFuzzer exit $rc):"
	report "$work/fuzz.log" "${artifact:-(none written; see $work/fuzz.log)}"
	failed=$((failed + 1))
fi
finish
