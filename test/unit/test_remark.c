/*
 * test_remark.c -- the tracked mode's re-mark (gc/remark.h) and its
 * rescan (gc/mark.h mark_rescan): a rescan reads only the words of marked
 * objects inside the range it is given; a pointer stored into an object
 * after its scan, with no barrier, is found by the final stop's look at
 * the written pages, and by a round's; memory the heap gains during the
 * epoch is watched too; a kernel failure rescans everything and turns
 * the mode off; every heap byte is tracked (remark_check).
 *
 * Each test runs in a new process with automatic cycles off, and marks
 * by hand: mark_shade and a drain stand for the concurrent mark. The
 * tests that need the kernel's tracking skip where it is missing
 * (test_dirty checks that the kernel really lacks it).
 */
#include "arena.h"
#include "os.h"
#include "../../barrier/dirty.h"
#include "gc.h"
#include "mark.h"
#include "remark.h"
#include "unit.h"
#include "work.h"

#include <stdio.h>
#include <string.h>

static void setup(void)
{
	ck_assert_int_eq(tri_init(), 0);
	tri_set_gc_percent(-1);
}

static bool marked(const void *p)
{
	mspan *s = arena_span_of((uintptr_t)p);
	uintptr_t idx = s->divmul ? span_obj_index(s, (uintptr_t)p - s->base)
	                          : 0;
	return span_is_marked(s, idx);
}

/* Mark p and scan it (and what it reaches), as the concurrent mark would
 * have before the program's store. */
static void mark_and_scan(const void *p)
{
	gcwork w = {0};
	mark_shade((uintptr_t)p, &w);
	mark_drain_n(&w, INT64_MAX, false, 0, NULL);
	mark_gcw_flush(&w);
}

/* Whatever is grey on the global lists, scanned. */
static void drain_all(void)
{
	gcwork w = {0};
	mark_drain_n(&w, INT64_MAX, false, 0, NULL);
	mark_gcw_flush(&w);
}

static uintptr_t page_of(const void *p)
{
	return (uintptr_t)p & ~(uintptr_t)(OS_PAGE_SIZE - 1);
}

static bool need_tracking(void)
{
	if (remark_available())
		return true;
	fprintf(stderr, "skipped: the kernel tracks no writes here (%s)\n",
	        dirty_reason());
	return false;
}

START_TEST(rescan_reads_marked_objects_only)
{
	void **a = tri_malloc(64), **b = tri_malloc(64);
	void *x = tri_malloc(64), *y = tri_malloc(64);
	ck_assert_uint_eq(page_of(a), page_of(b)); /* one page, one span */
	mark_and_scan(a);
	a[3] = x; /* after a's scan */
	b[3] = y; /* b is not marked: its words are not read */
	gcwork w = {0};
	mark_rescan(page_of(a), page_of(a) + OS_PAGE_SIZE, &w);
	mark_gcw_flush(&w);
	ck_assert(marked(x));
	ck_assert(!marked(y));
	ck_assert(!marked(b));

	/* A large object: only its words inside the range. */
	void **big = tri_malloc(64 * 1024);
	void *z1 = tri_malloc(64), *z2 = tri_malloc(64);
	mark_and_scan(big);
	size_t second = OS_PAGE_SIZE / sizeof(void *);
	big[1] = z1;          /* first page */
	big[second + 1] = z2; /* second page */
	mark_rescan((uintptr_t)big + OS_PAGE_SIZE,
	            (uintptr_t)big + 2 * OS_PAGE_SIZE, &w);
	mark_gcw_flush(&w);
	ck_assert(marked(z2));
	ck_assert(!marked(z1));
}
END_TEST

typedef struct final_ctx {
	remark_stats *st;
} final_ctx;

static void final_stop(void *arg)
{
	final_ctx *c = arg;
	gcwork w = {0};
	remark_final(c->st, &w);
	mark_gcw_flush(&w);
}

static void final_with_world_stopped(remark_stats *st)
{
	final_ctx c = {st};
	gc_with_world_stopped(final_stop, &c);
	drain_all();
}

/* An epoch begins; an object is marked and scanned; then the program
 * stores a pointer to a new object x into it, with no barrier: x. */
static void *store_after_scan(remark_stats *st)
{
	void **a = tri_malloc(64);
	ck_assert(remark_begin(st));
	mark_and_scan(a);
	void *x = tri_malloc(4096); /* another span: only a points to it */
	a[1] = x;                   /* a plain store */
	ck_assert(!marked(x));
	return x;
}

START_TEST(final_stop_finds_a_store_after_the_scan)
{
	if (!need_tracking())
		return;
	remark_stats st;
	void *x = store_after_scan(&st);
	final_with_world_stopped(&st);
	ck_assert(marked(x));
	ck_assert_int_ge(st.final_pages, 1);
	ck_assert(!st.fell_back);
	remark_end(&st, NULL);
}
END_TEST

static void **round_obj;
static void *round_late;
static unsigned waits;

/* The mark between two rounds: drain, and the program stores again. */
static void wait_and_store(void)
{
	drain_all();
	if (waits++ == 0)
		round_obj[2] = round_late;
}

START_TEST(rounds_rescan_then_the_final_stop_takes_the_rest)
{
	if (!need_tracking())
		return;
	round_obj = tri_malloc(64);
	remark_stats st;
	ck_assert(remark_begin(&st));
	mark_and_scan(round_obj);
	void *x = tri_malloc(4096);
	round_late = tri_malloc(4096);
	round_obj[1] = x;
	remark_rounds(&st, wait_and_store);
	ck_assert(marked(x)); /* the first round's rescan */
	/* a round that reports few pages is the last one */
	ck_assert_uint_eq(st.rounds, 1);
	ck_assert_int_ge(st.round_pages[0], 1);
	ck_assert(!marked(round_late)); /* stored during the wait */
	final_with_world_stopped(&st);
	ck_assert(marked(round_late));
	remark_end(&st, NULL);
	round_late = NULL;
}
END_TEST

START_TEST(heap_grown_during_the_epoch_is_watched)
{
	if (!need_tracking())
		return;
	remark_stats st;
	uint64_t sys0 = arena_heap_sys();
	ck_assert(remark_begin(&st));
	void **big = tri_malloc(32 << 20); /* the heap grows for it */
	ck_assert_uint_gt(arena_heap_sys(), sys0);
	ck_assert(remark_check()); /* I1: the new memory is tracked */
	mark_and_scan(big);
	void *x = tri_malloc(4096);
	big[3 << 20] = x;
	final_with_world_stopped(&st);
	ck_assert(marked(x));
	remark_end(&st, NULL);
}
END_TEST

START_TEST(a_kernel_failure_rescans_everything)
{
	if (!need_tracking())
		return;
	remark_stats st;
	void *x = store_after_scan(&st);
	dirty_fail_next_collect();
	final_with_world_stopped(&st);
	ck_assert_int_eq(st.final_pages, -1);
	ck_assert(st.fell_back);
	ck_assert(marked(x)); /* I4: every tracked range rescanned */
	ck_assert(!remark_available()); /* later cycles stop the world */
	ck_assert_str_eq(dirty_method_name(dirty_method_in_use()), "none");
	remark_end(&st, NULL);
}
END_TEST

START_TEST(describe_names_the_method)
{
	char buf[256];
	remark_describe(buf, sizeof buf);
	const char *m = dirty_method_name(dirty_method_in_use());
	ck_assert_msg(strncmp(buf, m, strlen(m)) == 0, "\"%s\"", buf);
	ck_assert(remark_check());
}
END_TEST

int main(void)
{
	Suite *s = suite_create("remark");
	TCase *tc = tcase_create("remark");
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, rescan_reads_marked_objects_only);
	tcase_add_test(tc, final_stop_finds_a_store_after_the_scan);
	tcase_add_test(tc, rounds_rescan_then_the_final_stop_takes_the_rest);
	tcase_add_test(tc, heap_grown_during_the_epoch_is_watched);
	tcase_add_test(tc, a_kernel_failure_rescans_everything);
	tcase_add_test(tc, describe_names_the_method);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
