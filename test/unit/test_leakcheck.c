/*
 * test_leakcheck.c -- prof/leakcheck.h: the TRICOLOR_LEAK_* values (L6):
 * unset or empty gives the default silently, a whole number in range is
 * taken, text gives the default and one warning line naming the
 * variable, a number out of range the nearest bound and one warning
 * line. (Thread stacks, the loader's blocks and the exit path's frames,
 * L4, L5 and L7, need the malloc preload: test/preload/run.sh section 10
 * checks them against LeakSanitizer's counts.)
 */
#include "unit.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "leakcheck.h"

/* leakcheck_env(name, lo, hi, dflt) with name=value; what it wrote on
 * stderr goes to err (at most cap - 1 bytes, NUL-terminated). */
static int env_with(const char *value, int lo, int hi, int dflt, char *err,
                    size_t cap)
{
	char path[] = "/tmp/test_leakcheck.XXXXXX";
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	unlink(path);
	int saved = dup(2);
	dup2(fd, 2);
	if (value)
		setenv("TRICOLOR_LEAK_TEST", value, 1);
	else
		unsetenv("TRICOLOR_LEAK_TEST");
	int v = leakcheck_env("TRICOLOR_LEAK_TEST", lo, hi, dflt);
	dup2(saved, 2);
	close(saved);
	ssize_t n = pread(fd, err, cap - 1, 0);
	err[n > 0 ? n : 0] = '\0';
	close(fd);
	return v;
}

static int lines(const char *s)
{
	int n = 0;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

START_TEST(unset_empty_and_good_values_are_silent)
{
	char err[512];
	ck_assert_int_eq(env_with(NULL, 1, 32, 12, err, sizeof err), 12);
	ck_assert_str_eq(err, "");
	ck_assert_int_eq(env_with("", 1, 32, 12, err, sizeof err), 12);
	ck_assert_str_eq(err, "");
	ck_assert_int_eq(env_with("20", 1, 32, 12, err, sizeof err), 20);
	ck_assert_str_eq(err, "");
	ck_assert_int_eq(env_with("32", 1, 32, 12, err, sizeof err), 32);
	ck_assert_str_eq(err, "");
}
END_TEST

START_TEST(text_warns_once_and_keeps_the_default)
{
	const char *bad[] = {"abc", "12abc", " 7x", "1e3"};
	char err[512];
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		ck_assert_int_eq(env_with(bad[i], 1, 32, 12, err, sizeof err), 12);
		ck_assert_int_eq(lines(err), 1);
		ck_assert_msg(strstr(err, "TRICOLOR_LEAK_TEST=") &&
		              strstr(err, bad[i]) && strstr(err, "using 12"),
		              "warning: %s", err);
	}
}
END_TEST

START_TEST(out_of_range_warns_once_and_clamps)
{
	char err[512];
	ck_assert_int_eq(env_with("100", 1, 32, 12, err, sizeof err), 32);
	ck_assert_int_eq(lines(err), 1);
	ck_assert_msg(strstr(err, "TRICOLOR_LEAK_TEST=100") &&
	              strstr(err, "using 32"), "warning: %s", err);
	ck_assert_int_eq(env_with("0", 1, 32, 12, err, sizeof err), 1);
	ck_assert_int_eq(lines(err), 1);
	ck_assert_int_eq(env_with("-3", 0, 255, 0, err, sizeof err), 0);
	ck_assert_int_eq(lines(err), 1);
	ck_assert_int_eq(env_with("99999999999999999999", 0, 255, 0, err,
	                          sizeof err), 0);
	ck_assert_int_eq(lines(err), 1);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("leakcheck");
	TCase *tc = tcase_create("env");
	tcase_add_checked_fixture(tc, NULL, unit_teardown);
	tcase_add_test(tc, unset_empty_and_good_values_are_silent);
	tcase_add_test(tc, text_warns_once_and_keeps_the_default);
	tcase_add_test(tc, out_of_range_warns_once_and_clamps);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
