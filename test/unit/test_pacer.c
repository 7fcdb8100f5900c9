/*
 * test_pacer.c -- the heap goal (gc/pacer.h): Go's formula, the heap
 * minimum scaled by GOGC, GOGC off, and publication as the trigger.
 */
#include "pacer.h"
#include "unit.h"

static void setup(void)
{
	ck_assert_int_eq(tri_init(), 0);
}

START_TEST(goal_formula)
{
	const uint64_t MiB = 1 << 20;
	ck_assert_uint_eq(pacer_heap_goal(0, 100), 4 * MiB);
	ck_assert_uint_eq(pacer_heap_goal(1 * MiB, 100), 4 * MiB);
	ck_assert_uint_eq(pacer_heap_goal(32 * MiB, 100), 64 * MiB);
	ck_assert_uint_eq(pacer_heap_goal(32 * MiB, 50), 48 * MiB);
	ck_assert_uint_eq(pacer_heap_goal(0, 50), 2 * MiB);
	ck_assert_uint_eq(pacer_heap_goal(0, 10), 4 * MiB / 10);
	ck_assert_uint_eq(pacer_heap_goal(10 * MiB, 0), 10 * MiB);
	ck_assert_uint_eq(pacer_heap_goal(1000, 300), 4 * MiB * 3);
	ck_assert_uint_eq(pacer_heap_goal(101, 100), 4 * MiB);
	/* No overflow on large heaps and percents. */
	ck_assert_uint_eq(pacer_heap_goal((uint64_t)1 << 40, 1000000),
	                  ((uint64_t)1 << 40) * 10001);
	ck_assert_uint_eq(pacer_heap_goal(5 * MiB, -1), ~(uint64_t)0);
}
END_TEST

START_TEST(commit_publishes_the_trigger)
{
	pacer_commit(8 << 20, 100);
	ck_assert_uint_eq(pacer_goal(), 16 << 20);
	ck_assert_uint_eq(atomic_load_relaxed(&mheap_trigger), 16 << 20);
	pacer_commit(8 << 20, -1);
	ck_assert_uint_eq(atomic_load_relaxed(&mheap_trigger), ~(uint64_t)0);
	pacer_commit(0, 100); /* leave the default behind */
}
END_TEST

int main(void)
{
	Suite *s = suite_create("pacer");
	TCase *tc = tcase_create("pacer");
	tcase_add_checked_fixture(tc, setup, unit_teardown);
	tcase_add_test(tc, goal_formula);
	tcase_add_test(tc, commit_publishes_the_trigger);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
