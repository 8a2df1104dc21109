#!/usr/bin/env bash
# `make valgrind`: every unit test program under valgrind's memcheck, which
# fails on any invalid read or write, use of uninitialised memory, or
# definite leak outside SoftHSM (tests/valgrind.supp). Slow (about 7
# minutes on two cores): not part of `make check`, which has `make asan`'s
# sanitizers instead. Usage: valgrind.sh [NAME...]
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
names=("$@")
[ ${#names[@]} -gt 0 ] || for src in tests/test_*.c; do names+=("$(basename "$src" .c)"); done
passed=0 failed=0
for n in "${names[@]}"; do
	log=$BUILD/valgrind/$n.log
	mkdir -p "$BUILD/valgrind"
	# SD_TEST_VALGRIND: valgrind has no seccomp(2); test_base leaves its filter checks to make check.
	# --child-silent-after-fork: a child forked to exec another program (test_privsep's hostile front)
	# is checked at the exec, where its parent's memory looks lost.
	SD_TEST_VALGRIND=1 valgrind --child-silent-after-fork=yes --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
		--suppressions=tests/valgrind.supp -q "$BUILD/tests/$n" >"$log" 2>&1
	rc=$?
	if [ "$rc" -eq 0 ]; then
		passed=$((passed + 1)); echo "ok - $n clean under valgrind"
	else
		failed=$((failed + 1)); echo "not ok - $n under valgrind (exit $rc; $log)"
		grep -E '^==[0-9]+== ' "$log" | head -n 20
	fi
done
echo "valgrind: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
