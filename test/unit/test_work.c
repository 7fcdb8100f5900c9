/*
 * test_work.c -- work buffers (gc/work.h): every object put is got back
 * exactly once, through the local pair, the global full list and balance;
 * dispose leaves nothing behind.
 */
#include "unit.h"
#include "work.h"

#include <string.h>

static void setup(void)
{
	ck_assert_int_eq(tri_init(), 0);
}

/* Put n distinct values, get them all back; each exactly once. */
static void round_trip(gcwork *w, uintptr_t n)
{
	static unsigned char seen[100000];
	ck_assert_uint_le(n, sizeof seen);
	memset(seen, 0, n);
	for (uintptr_t i = 1; i <= n; i++)
		gcw_put(w, i * 16);
	for (uintptr_t i = 0; i < n; i++) {
		uintptr_t v = gcw_get(w);
		ck_assert_uint_ne(v, 0);
		ck_assert_uint_eq(v % 16, 0);
		ck_assert_uint_le(v / 16, n);
		ck_assert(!seen[v / 16 - 1]);
		seen[v / 16 - 1] = 1;
	}
	ck_assert_uint_eq(gcw_get(w), 0);
	ck_assert_uint_eq(atomic_load_relaxed(&work_nfull), 0);
}

START_TEST(put_get_every_size)
{
	gcwork w = {0};
	uintptr_t sizes[] = {1, WORKBUF_NOBJ - 1, WORKBUF_NOBJ,
	                     WORKBUF_NOBJ + 1, 2 * WORKBUF_NOBJ + 1, 99999};
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
		round_trip(&w, sizes[i]);
	gcw_dispose(&w);
	ck_assert_ptr_null(w.wbuf1);
}
END_TEST

/* Work one marker balances out is taken by another. */
START_TEST(balance_hands_work_over)
{
	gcwork a = {0}, b = {0};
	for (uintptr_t i = 1; i <= 100; i++)
		gcw_put(&a, i * 16);
	ck_assert_uint_eq(atomic_load_relaxed(&work_nfull), 0);
	gcw_balance(&a);
	ck_assert_uint_eq(atomic_load_relaxed(&work_nfull), 1);
	ck_assert(gcw_take_full(&b));
	unsigned got = 0;
	uintptr_t sum = 0, v;
	while ((v = gcw_get(&b)) != 0) {
		got++;
		sum += v;
	}
	while ((v = gcw_get(&a)) != 0) {
		got++;
		sum += v;
	}
	ck_assert_uint_eq(got, 100);
	ck_assert_uint_eq(sum, 16 * 100 * 101 / 2);
	gcw_dispose(&a);
	gcw_dispose(&b);
}
END_TEST

/* A non-empty buffer disposed of goes to the full list, not lost. */
START_TEST(dispose_keeps_leftovers)
{
	gcwork a = {0}, b = {0};
	gcw_put(&a, 4096);
	gcw_dispose(&a);
	ck_assert_uint_eq(atomic_load_relaxed(&work_nfull), 1);
	ck_assert_uint_eq(gcw_get(&b), 4096);
	ck_assert_uint_eq(gcw_get(&b), 0);
	gcw_dispose(&b);
}
END_TEST

/* work_check (work.h) after every step: nfull counts the full list, and
 * the lists never hold more buffers than were mapped; work_check_idle
 * only once every buffer is back. (The values are not heap addresses:
 * the I1 test applies to heap values only.) */
START_TEST(work_check_after_each_step)
{
	gcwork a = {0}, b = {0};
	ck_assert(work_check_idle());
	for (uintptr_t i = 1; i <= 3 * WORKBUF_NOBJ; i++)
		gcw_put(&a, i * 16);
	ck_assert(work_check());
	ck_assert(!work_check_idle());
	gcw_balance(&a);
	ck_assert(work_check());
	ck_assert(gcw_take_full(&b));
	ck_assert(work_check());
	while (gcw_get(&b) != 0)
		;
	while (gcw_get(&a) != 0)
		;
	ck_assert(work_check());
	ck_assert(!work_check_idle()); /* a and b still hold theirs */
	gcw_dispose(&a);
	gcw_dispose(&b);
	ck_assert(work_check_idle());
}
END_TEST

int main(void)
{
	Suite *s = suite_create("work");
	TCase *tc = tcase_create("work");
	tcase_set_timeout(tc, 120);
	tcase_add_checked_fixture(tc, setup, unit_teardown);
	tcase_add_test(tc, put_get_every_size);
	tcase_add_test(tc, balance_hands_work_over);
	tcase_add_test(tc, dispose_keeps_leftovers);
	tcase_add_test(tc, work_check_after_each_step);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
