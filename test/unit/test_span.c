/*
 * test_span.c -- spans (alloc/span.h) and their central lists
 * (alloc/mcentral.h) for every size class: the free-slot search hands out
 * every slot exactly once in address order, the multiply-based index is
 * right at every offset, explicit frees are detected twice, and reclaim
 * hands back exactly the freed slots.
 */
#include "arena.h"
#include "span.h"
#include "mcache.h"
#include "unit.h"

static void setup(void)
{
	ck_assert_int_eq(tri_init(), 0);
}

/* Take every slot; check order, bounds and the index of every byte. */
static void take_all(mspan *s)
{
	for (uintptr_t i = 0; i < s->nelems; i++) {
		uintptr_t p = span_next_free_fast(s);
		if (!p) {
			uintptr_t idx = span_next_free_index(s);
			ck_assert_uint_eq(idx, i);
			p = s->base + idx * s->elemsize;
		}
		ck_assert_uint_eq(p, s->base + i * s->elemsize);
		ck_assert_uint_le(s->freeindex, s->nelems); /* I2 */
	}
	ck_assert_uint_eq(span_next_free_fast(s), 0);
	ck_assert_uint_eq(span_next_free_index(s), s->nelems);
}

START_TEST(every_class_every_slot)
{
	for (unsigned c = 1; c < NUM_SIZE_CLASSES; c++) {
		mspan *s = mheap_alloc_span(class_to_allocnpages[c], c,
		                            spanclass_make(c, false));
		ck_assert_ptr_nonnull(s);
		ck_assert_uint_eq(s->nelems, class_nelems(c));
		take_all(s);
		for (uintptr_t off = 0; off < s->limit - s->base; off++)
			ck_assert_uint_eq(span_obj_index(s, off),
			                  off / s->elemsize); /* I6 */
		for (uintptr_t i = 0; i < s->nelems; i++)
			ck_assert(span_is_allocated(s, i));
		ck_assert(span_check(s));
		mheap_free_span(s);
	}
}
END_TEST

START_TEST(free_bits_and_reclaim)
{
	for (unsigned c = 1; c < NUM_SIZE_CLASSES; c++) {
		mspan *s = mheap_alloc_span(class_to_allocnpages[c], c,
		                            spanclass_make(c, true));
		ck_assert_ptr_nonnull(s);
		take_all(s);
		span_settle(s);
		ck_assert_uint_eq(s->alloc_count, s->nelems);
		uintptr_t freed = 0;
		ck_assert(!span_has_pending(s));
		for (uintptr_t i = 0; i < s->nelems; i += 3) {
			/* The first free into each word asks mcentral to
			 * look (so does one that leaves every slot pending). */
			enum span_free_result want =
				i % 64 < 3 || s->nelems == 1 ? SPAN_FREE_CHECK
				                             : SPAN_FREE_OK;
			ck_assert_int_eq(span_free_slot(s, i), want);
			ck_assert_int_eq(span_free_slot(s, i), SPAN_FREE_BAD);
			ck_assert(!span_is_allocated(s, i));
			freed++;
		}
		ck_assert(span_has_pending(s));
		ck_assert(!span_all_pending(s) || s->nelems == 1);
		ck_assert_uint_eq(span_reclaim(s), freed);
		ck_assert_uint_eq(s->alloc_count, s->nelems - freed);
		ck_assert(!span_has_pending(s));
		for (uintptr_t i = 0; i < s->nelems; i += 3) /* exactly those */
			ck_assert_uint_eq(span_next_free_index(s), i);
		ck_assert_uint_eq(span_next_free_index(s), s->nelems);
		ck_assert(span_check(s));
		mheap_free_span(s);
	}
}
END_TEST

/* Freeing every slot of a settled span: the free that completes the last
 * word reports SPAN_FREE_CHECK and the span is then all pending, which is
 * what lets mcentral return it to the heap. (Replaces a pending counter
 * whose transient "negative" values once reported a valid free as a double
 * free with two threads: the bitmap is now the only state.) */
START_TEST(last_free_reports_check)
{
	mspan *s = mheap_alloc_span(1, 10, spanclass_make(10, false));
	ck_assert_ptr_nonnull(s);
	take_all(s);
	span_settle(s);
	for (uintptr_t i = 0; i + 1 < s->nelems; i++) {
		ck_assert_int_ne(span_free_slot(s, i), SPAN_FREE_BAD);
		ck_assert(!span_all_pending(s));
	}
	ck_assert_int_eq(span_free_slot(s, s->nelems - 1), SPAN_FREE_CHECK);
	ck_assert(span_all_pending(s));
	ck_assert_uint_eq(span_reclaim(s), s->nelems);
	ck_assert_uint_eq(s->alloc_count, 0);
	mheap_free_span(s);
}
END_TEST

/* Regression: two frees into two different empty words of a full span,
 * each CAS landing before the other's check. The free must still report
 * SPAN_FREE_CHECK (it used to look at the other word, see the racing bit,
 * and skip the lock -- as did the other free: the span stayed on full). */
START_TEST(first_free_per_word_always_checks)
{
	mspan *s = mheap_alloc_span(1, 1, spanclass_make(1, true)); /* 1024 */
	ck_assert_ptr_nonnull(s);
	take_all(s);
	span_settle(s);
	/* The other free's CAS into word 1 has landed; its check is pending. */
	atomic_store_relaxed(&s->free_bits[1], 1);
	ck_assert_int_eq(span_free_slot(s, 5), SPAN_FREE_CHECK);
	ck_assert_int_eq(span_free_slot(s, 6), SPAN_FREE_OK);
	ck_assert_uint_eq(span_reclaim(s), 3);
	mheap_free_span(s);
}
END_TEST

/* The collector's sweep: a slot survives iff allocated, marked and not
 * pending free; marks are cleared; the counts say what went where. */
START_TEST(sweep_folds_marks_and_frees)
{
	mspan *s = mheap_alloc_span(1, 1, spanclass_make(1, true)); /* 1024 */
	ck_assert_ptr_nonnull(s);
	take_all(s);
	span_settle(s);
	for (uintptr_t i = 0; i < s->nelems; i++) /* mark every third */
		if (i % 3 == 0)
			atomic_store_relaxed(&span_marks(s)[i / 64],
			                     span_marks(s)[i / 64] |
			                     (uintptr_t)1 << (i % 64));
	ck_assert_int_ne(span_free_slot(s, 0), SPAN_FREE_BAD); /* marked */
	ck_assert_int_ne(span_free_slot(s, 1), SPAN_FREE_BAD); /* not */
	span_sweep_counts c = {0};
	uint32_t live = span_sweep(s, &c);
	uint32_t marked = (s->nelems + 2) / 3;
	ck_assert_uint_eq(live, marked - 1);
	ck_assert_uint_eq(s->alloc_count, live);
	ck_assert_uint_eq(c.freed, 2);
	ck_assert_uint_eq(c.freed_marked, 1);
	ck_assert_uint_eq(c.gc_freed, s->nelems - marked - 1);
	ck_assert(!span_has_pending(s));
	for (uintptr_t i = 0; i < s->nelems; i++) {
		ck_assert(!span_is_marked(s, i));
		ck_assert_int_eq(span_is_allocated(s, i), i % 3 == 0 && i != 0);
	}
	ck_assert_uint_eq(s->freeindex, 0);
	ck_assert(s->needzero);
	/* The free slots are handed out again, in order. */
	ck_assert_uint_eq(span_next_free_index(s), 0);
	ck_assert_uint_eq(span_next_free_index(s), 1);
	ck_assert_uint_eq(span_next_free_index(s), 2);
	ck_assert_uint_eq(span_next_free_index(s), 4);
	mheap_free_span(s);
}
END_TEST

START_TEST(large_span)
{
	mspan *s = mheap_alloc_span(5, 0, spanclass_make(0, false));
	ck_assert_ptr_nonnull(s);
	ck_assert_uint_eq(s->nelems, 1);
	ck_assert_uint_eq(s->elemsize, 5 * PAGE_SIZE);
	ck_assert_uint_eq(s->limit, s->base + 5 * PAGE_SIZE);
	ck_assert_uint_eq(span_state(s), SPAN_IN_USE);
	ck_assert(span_is_allocated(s, 0)); /* its object, for the marker */
	ck_assert(span_check(s));
	mheap_free_span(s);
}
END_TEST

/* realloc of a large object grows it in place when the pages after it
 * are free: same address, contents kept, the new part zero (tri_realloc)
 * and owned by the object (usable size, interior lookups); otherwise it
 * moves. */
START_TEST(large_realloc_grows_in_place)
{
	char *a = tri_malloc(64 * TRI_KiB);
	char *b = tri_malloc(256 * TRI_KiB);
	char *fence = tri_malloc(64 * TRI_KiB);
	ck_assert_ptr_eq(b, a + 64 * TRI_KiB); /* consecutive in a fresh heap */
	memset(a, 0x11, 64 * TRI_KiB);
	memset(b, 0x22, 256 * TRI_KiB);
	tri_free(b); /* a dirty free run right after a */
	char *g = tri_realloc(a, 200 * TRI_KiB);
	ck_assert_ptr_eq(g, a);
	ck_assert_uint_eq(tri_usable_size(g), 200 * TRI_KiB);
	for (size_t i = 0; i < 200 * TRI_KiB; i++)
		ck_assert_int_eq(g[i], i < 64 * TRI_KiB ? 0x11 : 0);
	ck_assert_ptr_eq(tri_base(g + 150 * TRI_KiB), g);
	mspan *s = arena_span_of((uintptr_t)g + 199 * TRI_KiB);
	ck_assert_ptr_eq(s, arena_span_of((uintptr_t)g));
	ck_assert(span_check(s));
	/* 120 KiB are free after it, then the fence: 400 KiB must move. */
	char *m = tri_realloc(g, 400 * TRI_KiB);
	ck_assert_ptr_ne(m, g);
	ck_assert_int_eq(m[0], 0x11);
	ck_assert_int_eq(m[199 * TRI_KiB], 0);
	tri_free(m);
	tri_free(fence);
	tri_stats_t st;
	tri_read_stats(&st);
	ck_assert_uint_eq(st.heap_alloc, 0);
}
END_TEST

START_TEST(central_reuses_freed_span)
{
	/* Fill one 64-byte span through the public API, free one object:
	 * the span must come back for the next refill after this thread's
	 * cache lets go of it. */
	void *p[128];
	for (int i = 0; i < 128; i++)
		p[i] = tri_malloc(64);
	mspan *s = arena_span_of((uintptr_t)p[0]);
	ck_assert_ptr_nonnull(s);
	ck_assert_uint_eq(s->nelems, 128);
	mcache_tls->free[s->spanclass].cap = 0; /* not the thread's list */
	tri_free(p[5]);
	ck_assert(span_has_pending(s));
	void *q = tri_malloc(64); /* refill: the span is reclaimed */
	ck_assert_ptr_eq(q, p[5]);
	for (int i = 0; i < 128; i++)
		if (i != 5)
			tri_free(p[i]);
	tri_free(q);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("span");
	TCase *tc = tcase_create("span");
	tcase_set_timeout(tc, 120);
	tcase_add_checked_fixture(tc, setup, unit_teardown);
	tcase_add_test(tc, every_class_every_slot);
	tcase_add_test(tc, free_bits_and_reclaim);
	tcase_add_test(tc, last_free_reports_check);
	tcase_add_test(tc, first_free_per_word_always_checks);
	tcase_add_test(tc, sweep_folds_marks_and_frees);
	tcase_add_test(tc, large_span);
	tcase_add_test(tc, central_reuses_freed_span);
	tcase_add_test(tc, large_realloc_grows_in_place);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
