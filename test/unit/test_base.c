/*
 * test_base.c -- base.h: the allocation-free formatter, the one-line fatal
 * message, alignment helpers and the atomics wrapper.
 */
#include "base.h"
#include "unit.h"

#include <string.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

START_TEST(format_conversions)
{
	char buf[128];
	base_format(buf, sizeof buf, "%s %d %u %zu %x %p %c%%", "a", -42, 7u,
	           (size_t)123456789012ull, 0xbeefu, (void *)0xc000000010,
	           'z');
	ck_assert_str_eq(buf, "a -42 7 123456789012 beef 0xc000000010 z%");
	ck_assert_uint_eq(base_format(buf, 4, "%s", "truncate"), 3);
	ck_assert_str_eq(buf, "tru");
}
END_TEST

START_TEST(fatal_writes_one_line)
{
	int fds[2];
	ck_assert_int_eq(pipe(fds), 0);
	pid_t pid = fork();
	if (pid == 0) {
		dup2(fds[1], 2);
		base_fatal("tri_free(%p): bad", (void *)0x1234);
	}
	close(fds[1]);
	char out[256] = {0};
	ssize_t n = read(fds[0], out, sizeof out - 1);
	int status;
	waitpid(pid, &status, 0);
	ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
	ck_assert_int_gt(n, 0);
	ck_assert_str_eq(out, "tricolor: tri_free(0x1234): bad\n");
}
END_TEST

START_TEST(helpers)
{
	ck_assert_uint_eq(align_up(1, 16), 16);
	ck_assert_uint_eq(align_up(32, 16), 32);
	ck_assert_uint_eq(align_down(33, 16), 32);
	ck_assert_uint_eq(ctz64(8), 3);
	ck_assert_uint_eq(popcount64(0xff00ff), 16);
	atomic_word w = 5;
	ck_assert_uint_eq(atomic_swap_full(&w, 9), 5);
	ck_assert_uint_eq(atomic_cas_full(&w, 9, 11), 9);
	ck_assert_uint_eq(atomic_add_full(&w, 1), 11);
	ck_assert_uint_eq(atomic_load_acquire(&w), 12);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("base");
	TCase *tc = tcase_create("base");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, format_conversions);
	tcase_add_test(tc, fatal_writes_one_line);
	tcase_add_test(tc, helpers);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
