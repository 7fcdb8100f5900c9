/*
 * test_profile.c -- unit suite for prof/profile.c and the stack capture it
 * uses: the trimming of the library's own frames (callstack_capture_above: by entry point and by
 * code range), the profile specials a sampled span carries, and the
 * at-exit publication (profile_publish_all).
 */
#include "unit.h"

#include "arena.h"
#include "callstack.h"
#include "profile.h"
#include "span.h"
#include "threads.h"

static uintptr_t entry_start;

static __attribute__((noinline)) int fake_entry(uintptr_t *pcs)
{
	const uintptr_t entries[] = {entry_start};
	int n = callstack_capture_above(pcs, CALLSTACK_MAX, entries, 1,
	                                threads_self_stack_hi((uintptr_t)&n));
	__asm__ __volatile__("" ::: "memory");
	return n;
}

static __attribute__((noinline)) int caller_of_entry(uintptr_t *pcs)
{
	int n = fake_entry(pcs);
	__asm__ __volatile__("" ::: "memory");
	return n;
}

START_TEST(capture_starts_above_the_entry)
{
	uintptr_t pcs[CALLSTACK_MAX];
	entry_start = (uintptr_t)fake_entry;
	int n = caller_of_entry(pcs);
	ck_assert_int_gt(n, 1);
	/* pcs[0] is the return address into caller_of_entry */
	uintptr_t f = (uintptr_t)caller_of_entry;
	ck_assert_msg(pcs[0] > f && pcs[0] < f + 256, "pcs[0] %p, caller %p",
	              (void *)pcs[0], (void *)f);
	entry_start = 1; /* no frame matches: keep everything */
	int m = caller_of_entry(pcs);
	ck_assert_int_eq(m, n + 1);
}
END_TEST

/* callstack.h C4: with no entry point on the stack (the malloc preload
 * calls tricolor's inner functions), the library's own leading frames
 * are dropped by their code range: here fake_entry's call. */
START_TEST(capture_drops_the_library_code)
{
	uintptr_t pcs[CALLSTACK_MAX];
	entry_start = 1;
	callstack_set_library(0, 0);
	int n = caller_of_entry(pcs);
	uintptr_t in_entry = pcs[0], in_caller = pcs[1];
	uintptr_t f = (uintptr_t)caller_of_entry;
	ck_assert_msg(in_caller > f && in_caller < f + 256, "pcs[1] %p",
	              (void *)in_caller);
	callstack_set_library(in_entry - 1, in_entry);
	int m = caller_of_entry(pcs);
	callstack_set_library(0, 0);
	ck_assert_int_eq(m, n - 1);
	ck_assert_uint_eq(pcs[0], in_caller);
}
END_TEST

static void sum_size(const mprof_bucket *b, void *arg)
{
	uint64_t *v = arg; /* v[0]: size; v[1], v[2]: allocs, frees */
	if (b->size == v[0]) {
		v[1] += b->active.allocs;
		v[2] += b->active.frees;
	}
}

/* profile.h I4: without any cycle, profile_publish_all publishes every
 * sampled allocation and books the explicit frees still pending in
 * their spans (tri_free of a sampled slot sets its free bit only). */
START_TEST(publish_all_without_a_cycle)
{
	ck_assert_int_eq(tri_set_profile_rate(1), 0);
	void *p[50];
	for (int i = 0; i < 50; i++)
		p[i] = tri_malloc(1400);
	uint64_t v[3] = {arena_span_of((uintptr_t)p[0])->elemsize, 0, 0};
	for (int i = 0; i < 20; i++)
		tri_free(p[i]);
	profile_for_each_bucket(sum_size, v);
	ck_assert_uint_eq(v[1], 0); /* nothing published yet */
	profile_publish_all();
	v[1] = v[2] = 0;
	profile_for_each_bucket(sum_size, v);
	ck_assert_uint_eq(v[1], 50);
	ck_assert_uint_eq(v[2], 20);
	__asm__ __volatile__("" ::"r"(p) : "memory");
}
END_TEST

static void touch(void *p)
{
	*(volatile int *)p = 1;
}

/* A fault in a guarded call returns false, again and again; a call that
 * does not fault returns true and does its work. */
START_TEST(guarded_calls_survive_faults)
{
	int x = 0;
	ck_assert(threads_run_guarded(touch, &x));
	ck_assert_int_eq(x, 1);
	for (int i = 0; i < 3; i++) {
		/* unmapped, and non-canonical (aligned: UBSan checks null
		 * and alignment before the access) */
		ck_assert(!threads_run_guarded(touch, (void *)4096));
		ck_assert(!threads_run_guarded(touch, (void *)0xa5a5a5a5a5a5a5a0));
	}
	x = 0;
	ck_assert(threads_run_guarded(touch, &x));
	ck_assert_int_eq(x, 1);
}
END_TEST

START_TEST(specials_follow_sampled_objects)
{
	ck_assert_int_eq(tri_set_profile_rate(1), 0);
	void *p[50];
	for (int i = 0; i < 50; i++)
		p[i] = tri_malloc(128);
	mspan *s = arena_span_of((uintptr_t)p[0]);
	unsigned n = 0;
	for (special *sp = s->specials; sp; sp = sp->next, n++) {
		if (sp->next)
			ck_assert_uint_lt(sp->idx, sp->next->idx); /* sorted */
		ck_assert_uint_eq(((mprof_bucket *)sp->owner)->size, 128);
	}
	ck_assert_uint_ge(n, 1);
	tri_collect(); /* objects still referenced from p: kept */
	for (int i = 0; i < 50; i++)
		tri_free(p[i]);
	tri_collect(); /* the sweep folds the frees in: specials gone */
	tri_collect();
	ck_assert_ptr_null(s->specials);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("profile");
	TCase *tc = tcase_create("profile");
	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, NULL, unit_teardown);
	tcase_add_test(tc, capture_starts_above_the_entry);
	tcase_add_test(tc, capture_drops_the_library_code);
	tcase_add_test(tc, publish_all_without_a_cycle);
	tcase_add_test(tc, guarded_calls_survive_faults);
	tcase_add_test(tc, specials_follow_sampled_objects);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
