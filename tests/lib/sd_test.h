/*
 * Shared CUnit driver and fixtures for the test programs (never shipped).
 */
#ifndef SD_TEST_H
#define SD_TEST_H

#include <limits.h>
#include <CUnit/CUnit.h>

#ifdef __clang_analyzer__
#include <stdlib.h>
/* For clang-tidy's analyzer: a failed _FATAL assertion does not return (CUnit longjmps out of the test). */
static inline CU_BOOL
sd_test_assert_model(CU_BOOL value, CU_BOOL fatal)
{
	if (fatal && !value)
		abort();
	return value;
}
#define CU_assertImplementation(value, line, condition, file, function, fatal) \
	sd_test_assert_model((value), (fatal))
#endif

/*
 * Run every registered suite, print "<name>: N passed, N failed" and return
 * the process exit status (0 only when all tests passed and none errored).
 */
int sd_test_run(const char *name);

/* Add a suite with its tests, aborting the program if CUnit cannot. */
struct sd_test_case {
	const char *name;
	void (*fn)(void);
};
void sd_test_suite(const char *name, const struct sd_test_case *cases, size_t n);
#define SD_TEST_SUITE(name, cases) sd_test_suite((name), (cases), sizeof(cases) / sizeof((cases)[0]))

/* Make a fresh temporary directory under $TMPDIR (or /tmp); aborts on failure. */
void sd_test_tmpdir(char out[PATH_MAX], const char *tag);

/* Sleep ms milliseconds (usleep() has left POSIX, and may refuse a second or more). */
void sd_test_sleep_ms(unsigned ms);

/* rm -rf dir (test cleanup). */
void sd_test_rmtree(const char *dir);

/* Write text to dir/name with mode; aborts on failure. Returns the path in out. */
void sd_test_write(const char *dir, const char *name, const char *text, unsigned mode, char out[PATH_MAX]);

#endif
