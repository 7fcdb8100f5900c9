/*
 * test_scavenge.c -- the scavenger (alloc/scavenge.h): Go's goals from the
 * pacer's numbers, eager release when the heap grows past the goal or a
 * large free leaves too many free pages, and a
 * heap that stays usable and consistent (pages.h I5) when the OS refuses
 * an madvise or a mapping.
 */
#include "mheap.h"
#include "os.h"
#include "scavenge.h"
#include "unit.h"

#include <errno.h>
#include <string.h>

static void setup(void)
{
	ck_assert_int_eq(tri_init(), 0);
	tri_set_gc_percent(-1); /* no cycle, no background pass */
}

static void teardown(void)
{
	unit_teardown();
}

START_TEST(goals_follow_go)
{
	/* GOGC goal: in use * goal / last goal, + 10 %, page aligned. */
	scavenge_pace(100 * TRI_MiB, 50 * TRI_MiB, 100 * TRI_MiB, INT64_MAX);
	ck_assert_uint_eq(scavenge_goal(), 55 * TRI_MiB);
	scavenge_pace(1000, 3, 1, INT64_MAX); /* 3300, up to 4096 */
	ck_assert_uint_eq(scavenge_goal(), 4096);
	/* The memory limit: 95 % of it, when lower. */
	scavenge_pace(100 * TRI_MiB, 50 * TRI_MiB, 100 * TRI_MiB,
	              40 * (int64_t)TRI_MiB);
	ck_assert_uint_eq(scavenge_goal(), 38 * TRI_MiB);
	/* No cycle has ended: no GOGC goal; none at all without a limit. */
	scavenge_pace(100 * TRI_MiB, 50 * TRI_MiB, 0, 200 * (int64_t)TRI_MiB);
	ck_assert_uint_eq(scavenge_goal(), 190 * TRI_MiB);
	scavenge_pace(100 * TRI_MiB, 50 * TRI_MiB, 0, INT64_MAX);
	ck_assert_uint_eq(scavenge_goal(), UINT64_MAX);
}
END_TEST

/* A large object touched and freed: its pages are free, not released. A
 * live spacer above it keeps the heap's growth from merging with it. */
static void free_dirty(size_t bytes)
{
	char *p = tri_malloc_noscan(bytes);
	ck_assert_ptr_nonnull(p);
	memset(p, 7, bytes);
	ck_assert_ptr_nonnull(tri_malloc_noscan(4 * TRI_MiB));
	tri_free(p);
}

START_TEST(growth_past_the_goal_releases_at_once)
{
	free_dirty(32 * TRI_MiB);
	scavenge_pace(1, 1, 1, INT64_MAX); /* a goal of one page */
	uint64_t before = mheap_released_bytes();
	/* Does not fit in the 32 MiB hole: the heap grows, and the
	 * allocating thread releases the hole (Go's mheap.grow). */
	char *p = tri_malloc_noscan(40 * TRI_MiB);
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_ge(mheap_released_bytes(), before + 32 * TRI_MiB);
}
END_TEST

START_TEST(no_goal_no_eager_release)
{
	free_dirty(32 * TRI_MiB);
	scavenge_pace(100, 1, 0, INT64_MAX); /* no cycle yet: no goal */
	uint64_t before = mheap_released_bytes();
	ck_assert_ptr_nonnull(tri_malloc_noscan(40 * TRI_MiB));
	ck_assert_uint_le(mheap_released_bytes(), before);
}
END_TEST

/* tri_free of large objects releases them once the free pages kept
 * exceed the slack (max(in use, 64 MiB)): of 24 blocks of 4 MiB freed in
 * turn, the ones freed after in use fell below 32 MiB go back to the OS;
 * memory reused from them is zero; small frees never release. */
START_TEST(large_frees_past_the_slack_release)
{
	enum { N = 24 };
	static char *p[N];
	for (int i = 0; i < N; i++) {
		p[i] = tri_malloc_noscan(4 * TRI_MiB);
		ck_assert_ptr_nonnull(p[i]);
		memset(p[i], 7, 4 * TRI_MiB);
	}
	uint64_t before = mheap_released_bytes();
	for (int i = 0; i < N; i++)
		tri_free(p[i]);
	uint64_t released = mheap_released_bytes() - before;
	ck_assert_uint_ge(released, 16 * TRI_MiB);
	ck_assert_uint_le(released, 40 * TRI_MiB);
	char *q = tri_malloc(N * 4 * TRI_MiB - 4 * TRI_MiB); /* reuses them */
	ck_assert_ptr_nonnull(q);
	for (size_t off = 0; off < (N - 1) * 4 * TRI_MiB; off += 4096)
		ck_assert_int_eq(q[off], 0);
	tri_free(q);
	before = mheap_released_bytes();
	tri_free(tri_malloc_noscan(64 * TRI_KiB)); /* below 128 KiB */
	ck_assert_uint_le(mheap_released_bytes(), before);
}
END_TEST

START_TEST(madvise_failure_leaves_heap_usable)
{
	free_dirty(32 * TRI_MiB);
	uint64_t before = mheap_released_bytes();
	os_fail_release_after(1);
	ck_assert_uint_eq(scavenge_all(), 0); /* refused: nothing counted */
	ck_assert_uint_eq(mheap_released_bytes(), before);
	ck_assert(mheap_check());
	char *p = tri_malloc_noscan(32 * TRI_MiB); /* the hole, reused */
	ck_assert_ptr_nonnull(p);
	for (size_t i = 0; i < 32 * TRI_MiB; i += 4096)
		if (p[i])
			ck_abort_msg("byte %zu not zeroed", i);
	tri_free(p);
	ck_assert_uint_ge(scavenge_all(), 32 * TRI_MiB); /* hook spent */
	ck_assert_uint_ge(mheap_released_bytes(), before + 32 * TRI_MiB);
}
END_TEST

START_TEST(mapping_failure_after_release_leaves_heap_usable)
{
	free_dirty(32 * TRI_MiB);
	ck_assert_uint_ge(scavenge_all(), 32 * TRI_MiB);
	/* Fail the n-th OS call of a growth, n = 1, 2, ...: each request
	 * succeeds or fails cleanly, and the heap stays consistent. */
	int failed = 0;
	for (long n = 1; n <= 8; n++) {
		os_fail_after(n);
		errno = 0;
		char *p = tri_malloc_noscan(64 * TRI_MiB);
		os_fail_after(0);
		if (!p) {
			ck_assert_int_eq(errno, ENOMEM);
			failed++;
		} else { /* kept: the next request must grow the heap too */
			p[64 * TRI_MiB - 1] = 1;
		}
		ck_assert(mheap_check());
	}
	ck_assert_int_gt(failed, 0);
	/* Released pages serve the next request, zeroed. */
	ck_assert_uint_ge(scavenge_all(), 0);
	uint64_t before = mheap_released_bytes();
	char *p = tri_malloc_noscan(16 * TRI_MiB);
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_lt(mheap_released_bytes(), before);
	for (size_t i = 0; i < 16 * TRI_MiB; i += 4096)
		if (p[i])
			ck_abort_msg("byte %zu not zeroed", i);
	memset(p, 1, 16 * TRI_MiB);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("scavenge");
	TCase *tc = tcase_create("scavenge");
	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, goals_follow_go);
	tcase_add_test(tc, growth_past_the_goal_releases_at_once);
	tcase_add_test(tc, no_goal_no_eager_release);
	tcase_add_test(tc, large_frees_past_the_slack_release);
	tcase_add_test(tc, madvise_failure_leaves_heap_usable);
	tcase_add_test(tc, mapping_failure_after_release_leaves_heap_usable);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
